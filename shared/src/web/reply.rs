//! What a handler answers when all went well: a page, a redirect, events, a download.

use super::*;

/// What a handler answers when all went well.
pub enum Reply {
    Page {
        status: StatusCode,
        template: &'static str,
        context: Value,
    },
    /// A 303 See Other, so that a form post is followed by a GET.
    Redirect(&'static str),
    /// A 303 to a path made at run time (a conversation's page).
    RedirectTo(String),
    /// A 303 to another site (an identity provider's page), by its absolute URL.
    Elsewhere(String),
    /// Server-sent events, written as they are produced (functions run with
    /// `run_with_streaming_response`).
    Events(ByteStream),
    /// A file to save (an export), named `filename`.
    Download {
        content_type: &'static str,
        filename: String,
        body: String,
    },
    /// An attachment's bytes, served by the portal itself (the local directory store), with
    /// its `Content-Disposition`.
    File {
        content_type: &'static str,
        disposition: String,
        body: Bytes,
    },
}

/// A body written piece by piece.
pub type ByteStream = Pin<Box<dyn Stream<Item = Bytes> + Send>>;

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Page {
                status, template, ..
            } => write!(f, "Page({status}, {template})"),
            Reply::Redirect(path) => write!(f, "Redirect({path})"),
            Reply::RedirectTo(path) => write!(f, "RedirectTo({path})"),
            Reply::Elsewhere(url) => write!(f, "Elsewhere({url})"),
            Reply::Events(_) => write!(f, "Events"),
            Reply::Download { filename, .. } => write!(f, "Download({filename})"),
            Reply::File { disposition, .. } => write!(f, "File({disposition})"),
        }
    }
}

impl Reply {
    pub fn page(template: &'static str, context: Value) -> Self {
        Self::Page {
            status: StatusCode::OK,
            template,
            context,
        }
    }

    pub fn page_with_status(status: StatusCode, template: &'static str, context: Value) -> Self {
        Self::Page {
            status,
            template,
            context,
        }
    }
}
