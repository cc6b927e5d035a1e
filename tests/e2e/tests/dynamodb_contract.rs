//! The store contract, against DynamoDB Local, on a table created from the same definition
//! the SAM template declares.

use shared::store::DynamoStore;

pub const TABLE: &str = "switchboard-contract";

async fn store() -> DynamoStore {
    let store = DynamoStore::new(e2e::dynamodb(), TABLE);
    store.create_table().await.expect("the table exists");
    store
}

shared::contract_tests!(store());
