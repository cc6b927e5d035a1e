//! Branches: a conversation's messages form a tree. Each message follows its `parent`; an
//! edited message, or a regenerated reply, is a new message with the same parent as the one
//! it replaces (its sibling), so nothing is thrown away. What a page shows, and what is sent
//! upstream, is one branch: the path from the first message to a leaf. Where a message has
//! siblings, the page links to them (‹ 2 / 3 ›); following one shows the branch through it,
//! continued by the newest replies below it.
//!
//! Every function here works on the messages it is given (a conversation's latest ones); a
//! branch reaching further back ends where they do.

use crate::conversations::Message;

fn by_seq(messages: &[Message], seq: u32) -> Option<&Message> {
    // Read in sequence order; a binary search finds one.
    messages
        .binary_search_by_key(&seq, |m| m.seq)
        .ok()
        .map(|i| &messages[i])
}

/// The branch ending at `leaf`, first message first (as far back as `messages` reach). Empty
/// if `leaf` is not among them.
pub fn path(messages: &[Message], leaf: u32) -> Vec<&Message> {
    let mut path = Vec::new();
    let mut next = by_seq(messages, leaf);
    while let Some(m) = next {
        path.push(m);
        next = m.parent.and_then(|p| by_seq(messages, p));
    }
    path.reverse();
    path
}

/// The last message of the branch through `seq`: from it, the newest child at each step.
pub fn tip(messages: &[Message], seq: u32) -> u32 {
    let mut at = seq;
    while let Some(child) = messages.iter().rev().find(|m| m.parent == Some(at)) {
        at = child.seq;
    }
    at
}

/// The leaf a conversation shows by default: its own (the last turn's reply), else its last
/// message; `None` without messages.
pub fn default_leaf(messages: &[Message], leaf: Option<u32>) -> Option<u32> {
    leaf.filter(|l| by_seq(messages, *l).is_some())
        .or_else(|| messages.last().map(|m| m.seq))
}

/// Where a message stands among its siblings (the messages with its parent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Siblings {
    /// 1-based.
    pub position: usize,
    pub count: usize,
    pub previous: Option<u32>,
    pub next: Option<u32>,
}

/// `message`'s siblings among `messages`, oldest first.
pub fn siblings(messages: &[Message], message: &Message) -> Siblings {
    let all: Vec<u32> = messages
        .iter()
        .filter(|m| m.parent == message.parent && m.speaker == message.speaker)
        .map(|m| m.seq)
        .collect();
    let at = all.iter().position(|s| *s == message.seq).unwrap_or(0);
    Siblings {
        position: at + 1,
        count: all.len().max(1),
        previous: at.checked_sub(1).map(|i| all[i]),
        next: all.get(at + 1).copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversations::{MessageText, Speaker};

    fn user(seq: u32, parent: Option<u32>) -> Message {
        let mut m = Message::user(seq, &MessageText::parse("hi").unwrap(), "t", 0);
        m.parent = parent;
        m
    }

    fn reply(seq: u32, parent: u32) -> Message {
        let mut m = Message::pending_reply(seq, "offline", "t", 0);
        m.parent = Some(parent);
        m
    }

    /// 0 user, 1 reply; 2 a regenerated reply to 0; 3 an edit of 0 (a root), 4 its reply;
    /// 5 a follow-up to 2, 6 its reply.
    fn tree() -> Vec<Message> {
        vec![
            user(0, None),
            reply(1, 0),
            reply(2, 0),
            user(3, None),
            reply(4, 3),
            user(5, Some(2)),
            reply(6, 5),
        ]
    }

    fn seqs(path: Vec<&Message>) -> Vec<u32> {
        path.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn a_branch_is_the_path_to_its_leaf() {
        let t = tree();
        assert_eq!(seqs(path(&t, 6)), [0, 2, 5, 6]);
        assert_eq!(seqs(path(&t, 1)), [0, 1]);
        assert_eq!(seqs(path(&t, 4)), [3, 4]);
        assert!(path(&t, 99).is_empty());
        // Reaching back past the messages given, it ends where they do.
        assert_eq!(seqs(path(&t[2..], 6)), [2, 5, 6]);
    }

    #[test]
    fn following_a_message_leads_to_its_newest_descendants() {
        let t = tree();
        assert_eq!(tip(&t, 0), 6, "the newest child of 0 is 2, then 5, then 6");
        assert_eq!(tip(&t, 1), 1);
        assert_eq!(tip(&t, 3), 4);
        assert_eq!(default_leaf(&t, Some(4)), Some(4));
        assert_eq!(default_leaf(&t, Some(99)), Some(6));
        assert_eq!(default_leaf(&t, None), Some(6));
        assert_eq!(default_leaf(&[], None), None);
    }

    #[test]
    fn siblings_are_counted_and_linked() {
        let t = tree();
        let of = |seq: u32| siblings(&t, t.iter().find(|m| m.seq == seq).unwrap());
        assert_eq!(
            of(2),
            Siblings {
                position: 2,
                count: 2,
                previous: Some(1),
                next: None
            }
        );
        assert_eq!(
            of(0),
            Siblings {
                position: 1,
                count: 2,
                previous: None,
                next: Some(3)
            }
        );
        assert_eq!(of(5).count, 1);
        assert_eq!(t[0].speaker, Speaker::User);
    }
}
