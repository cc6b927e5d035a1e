//! Groups: which models their members may use. An account is in the groups an administrator
//! put it in, and in those whose name matches one of its identity provider's groups (case
//! aside). In no group, it gets the portal's default set (`SWITCHBOARD_DEFAULT_MODELS`, else
//! every model).

use serde::{Deserialize, Serialize};

use crate::accounts::Account;
use crate::ai::{Catalogue, Model};

/// A group's identity: 96 random bits, never reused, so a membership never carries over to a
/// later group of the same name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupId(String);

impl GroupId {
    pub fn generate() -> Self {
        Self(crate::random::token::<12>())
    }

    pub fn parse(value: &str) -> Option<Self> {
        let ok = !value.is_empty()
            && value.len() <= 32
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        ok.then(|| Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A group's name: 1 to 64 characters of letters, digits, spaces, `.`, `_` and `-` (so an
/// identity provider's group names fit), unique regardless of case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GroupName(String);

impl GroupName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let name = input.trim();
        if name.is_empty() {
            return Err("Enter a group name.");
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err("A group name has at most 64 characters.");
        }
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || " ._-".contains(c))
        {
            return Err("A group name may use only letters, digits, spaces, '.', '_' and '-'.");
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` names the same group (names are unique regardless of case).
    pub fn same_as(&self, other: &str) -> bool {
        self.0.to_lowercase() == other.trim().to_lowercase()
    }
}

impl TryFrom<String> for GroupName {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<GroupName> for String {
    fn from(name: GroupName) -> Self {
        name.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    pub name: GroupName,
    /// The catalogue models its members may use; `None` for every model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    pub created_at: u64,
    /// The most the whole group may spend in a calendar month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_cap: Option<crate::usage::Cost>,
    /// The most each member may spend in a calendar month (on top of their own cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_cap: Option<crate::usage::Cost>,
    /// How many days its members' conversations are kept after their last activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Its members may not use the API (unless another of their groups lets them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub api_off: bool,
}

/// Whether an account in `groups` may use the API: in no group, yes; else if any of its
/// groups lets it (as with models, groups add to what an account may do).
pub fn api_allowed(groups: &[Group]) -> bool {
    groups.is_empty() || groups.iter().any(|g| !g.api_off)
}

/// The most days a retention period may be (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// The retention period that applies: the shortest of the portal's and the groups'.
pub fn retention_days(portal: Option<u32>, groups: &[Group]) -> Option<u32> {
    groups
        .iter()
        .filter_map(|g| g.retention_days)
        .chain(portal)
        .min()
}

/// The most groups one reply's cost is counted in: each is a write in the reply's
/// transaction (DynamoDB takes 100 items), and few accounts are in more.
pub const MAX_COUNTED_GROUPS: usize = 25;

/// Every group of the portal, as one stored value, and its version (each save must name the
/// version it read, so two administrators' changes never silently undo each other).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups {
    pub list: Vec<Group>,
    pub version: u64,
}

impl Groups {
    /// The most groups a portal may have (they are read with every chat request, as one item).
    pub const MAX: usize = 100;

    pub fn get(&self, id: &GroupId) -> Option<&Group> {
        self.list.iter().find(|g| &g.id == id)
    }

    pub fn named(&self, name: &str) -> Option<&Group> {
        self.list.iter().find(|g| g.name.same_as(name))
    }

    /// The groups `account` is in: an administrator's choice, and its provider's groups
    /// matched by name.
    pub fn of<'a>(&'a self, account: &Account) -> Vec<&'a Group> {
        self.list
            .iter()
            .filter(|g| {
                account.member_of.contains(&g.id)
                    || account.groups.names().iter().any(|n| g.name.same_as(n))
            })
            .collect()
    }
}

/// The models one account may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelAccess {
    Every,
    Only(Vec<String>),
}

impl ModelAccess {
    /// For an account in `groups`: every model any of them allows; in none, `default`.
    pub fn of(groups: &[&Group], default: &ModelAccess) -> Self {
        if groups.is_empty() {
            return default.clone();
        }
        let mut ids: Vec<String> = Vec::new();
        for group in groups {
            match &group.models {
                None => return Self::Every,
                Some(models) => {
                    for id in models {
                        if !ids.contains(id) {
                            ids.push(id.clone());
                        }
                    }
                }
            }
        }
        Self::Only(ids)
    }

    pub fn allows(&self, model_id: &str) -> bool {
        match self {
            Self::Every => true,
            Self::Only(ids) => ids.iter().any(|id| id == model_id),
        }
    }

    /// The catalogue's models this allows, in the catalogue's order.
    pub fn models<'a>(&self, catalogue: &'a Catalogue) -> Vec<&'a Model> {
        catalogue
            .models()
            .iter()
            .filter(|m| self.allows(&m.id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{ProviderGroups, Role};
    use crate::users::Username;

    fn group(name: &str, models: Option<&[&str]>) -> Group {
        Group {
            id: GroupId::generate(),
            name: GroupName::parse(name).unwrap(),
            models: models.map(|m| m.iter().map(|s| s.to_string()).collect()),
            created_at: 0,
            monthly_cap: None,
            member_cap: None,
            retention_days: None,
            api_off: false,
        }
    }

    #[test]
    fn names_are_checked_and_unique_regardless_of_case() {
        assert_eq!(
            GroupName::parse("  Data Science ").unwrap().as_str(),
            "Data Science"
        );
        assert!(
            GroupName::parse("data science")
                .unwrap()
                .same_as("DATA SCIENCE ")
        );
        for bad in ["", "   ", "a/b", "<script>", &"x".repeat(65)] {
            assert!(GroupName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_account_is_in_its_chosen_groups_and_its_providers_by_name() {
        let staff = group("Staff", Some(&["a"]));
        let research = group("research", Some(&["b", "c"]));
        let other = group("other", None);
        let groups = Groups {
            list: vec![staff.clone(), research.clone(), other],
            version: 1,
        };
        let mut ann = Account::new(
            Username::parse("ann").unwrap(),
            None,
            crate::password::unusable(),
            Role::User,
            0,
        );
        assert!(groups.of(&ann).is_empty());
        ann.member_of = vec![staff.id.clone()];
        ann.groups = ProviderGroups::bounded(["RESEARCH".to_string(), "unknown".into()]).0;
        let names: Vec<&str> = groups.of(&ann).iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["Staff", "research"]);
        let access = ModelAccess::of(&groups.of(&ann), &ModelAccess::Every);
        assert_eq!(
            access,
            ModelAccess::Only(vec!["a".into(), "b".into(), "c".into()])
        );
        assert!(access.allows("b") && !access.allows("d"));
    }

    #[test]
    fn the_shortest_retention_applies() {
        let mut short = group("short", None);
        short.retention_days = Some(7);
        let mut long = group("long", None);
        long.retention_days = Some(90);
        let none = group("none", None);
        assert_eq!(retention_days(None, &[]), None);
        assert_eq!(
            retention_days(Some(30), std::slice::from_ref(&none)),
            Some(30)
        );
        assert_eq!(
            retention_days(Some(30), std::slice::from_ref(&long)),
            Some(30)
        );
        assert_eq!(retention_days(None, &[long, short, none]), Some(7));
    }

    #[test]
    fn no_group_means_the_default_and_an_unrestricted_group_means_every_model() {
        let default = ModelAccess::Only(vec!["offline".into()]);
        assert_eq!(ModelAccess::of(&[], &default), default);
        let open = group("open", None);
        let narrow = group("narrow", Some(&["a"]));
        assert_eq!(
            ModelAccess::of(&[&narrow, &open], &default),
            ModelAccess::Every
        );
    }
}
