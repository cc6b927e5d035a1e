//! A TCP proxy in front of DynamoDB Local that notes the operation of every request passing
//! through (its `X-Amz-Target` header), so the bench and the tests can count DynamoDB requests
//! per invocation of a real function binary.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone)]
pub struct CountingProxy {
    pub address: SocketAddr,
    operations: Arc<Mutex<Vec<String>>>,
}

impl CountingProxy {
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let proxy = Self {
            address: listener.local_addr()?,
            operations: Arc::default(),
        };
        let operations = proxy.operations.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let operations = operations.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        // A relay must not hold back small writes (Nagle): each would wait for
                        // a delayed ACK, and the proxy would add the 40 ms it is there to count.
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        let _ = relay(client, server, operations).await;
                    }
                });
            }
        });
        Ok(proxy)
    }

    /// How many requests have passed so far.
    pub fn count(&self) -> usize {
        self.operations.lock().unwrap().len()
    }

    /// The operations of the requests from the `from`-th on.
    pub fn since(&self, from: usize) -> Vec<String> {
        self.operations.lock().unwrap()[from..].to_vec()
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    operations: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async move {
        let mut buffer = vec![0u8; 16 * 1024];
        // The end of the previous read, so a header split across reads is still seen.
        let mut carry = String::new();
        loop {
            let n = client_read.read(&mut buffer).await?;
            if n == 0 {
                return server_write.shutdown().await;
            }
            let text = format!("{carry}{}", String::from_utf8_lossy(&buffer[..n]));
            let lower = text.to_ascii_lowercase();
            let mut at = 0;
            while let Some(found) = lower[at..].find("\r\nx-amz-target:") {
                let start = at + found + "\r\nx-amz-target:".len();
                let Some(end) = text[start..].find("\r\n") else {
                    break;
                };
                let target = text[start..start + end].trim();
                let operation = target.rsplit('.').next().unwrap_or(target).to_string();
                operations.lock().unwrap().push(operation);
                at = start + end;
            }
            carry = text[at.max(text.len().saturating_sub(64))..].to_string();
            server_write.write_all(&buffer[..n]).await?;
        }
    };
    let downstream = async move {
        tokio::io::copy(&mut server_read, &mut client_write).await?;
        client_write.shutdown().await
    };
    let (a, b) = tokio::join!(upstream, downstream);
    a.and(b)
}
