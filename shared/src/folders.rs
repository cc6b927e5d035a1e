//! Folders (projects): a user's own groupings of conversations, each with a default model and
//! system prompt that its new conversations start with. A conversation filed in a folder is
//! listed there instead of with the recent ones (pinned and archived ones stay on their
//! shelves); search finds it wherever it is.

use crate::conversations::SystemPrompt;

/// At most this many folders per account.
pub const MAX_FOLDERS: usize = 50;
/// A folder's name, at most this many characters.
pub const MAX_NAME_CHARS: usize = 60;

crate::random_id!(
    /// A folder's id.
    FolderId
);

/// What a folder is called: 1 to 60 characters, one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderName(String);

impl FolderName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Name the folder.");
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err("A folder's name has at most 60 characters.");
        }
        if name.chars().any(char::is_control) {
            return Err("A folder's name is one line of text.");
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    pub id: FolderId,
    pub name: FolderName,
    /// The model its new conversations start with (a catalogue id); none: the account's first.
    pub model: Option<String>,
    /// The system prompt its new conversations start with.
    pub system: Option<String>,
    pub created_at: u64,
}

/// A folder's settings, checked (the model's id is checked against the catalogue and the
/// account's models by the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderSettings {
    pub name: FolderName,
    pub model: Option<String>,
    pub system: Option<String>,
}

/// A field's problem: the field's name and what to fix.
pub type FieldProblem = (&'static str, &'static str);

impl Folder {
    /// A folder's settings as a form gives them: its name, default model (blank: none) and
    /// system prompt (blank: none); each field's problem, by field, if any.
    pub fn settings(
        name: &str,
        model: &str,
        system: &str,
    ) -> Result<FolderSettings, Vec<FieldProblem>> {
        let mut errors = Vec::new();
        let name = FolderName::parse(name).map_err(|e| errors.push(("folder_name", e)));
        let system = SystemPrompt::parse(system).map_err(|e| errors.push(("folder_system", e)));
        match (name, system) {
            (Ok(name), Ok(system)) if errors.is_empty() => Ok(FolderSettings {
                name,
                model: Some(model.trim().to_string()).filter(|m| !m.is_empty()),
                system: system.map(|s| s.as_str().to_string()),
            }),
            _ => Err(errors),
        }
    }
}

/// Folders listed by name (ignoring case), then by age.
pub fn sort(folders: &mut [Folder]) {
    folders.sort_by(|a, b| {
        (a.name.as_str().to_lowercase(), a.created_at)
            .cmp(&(b.name.as_str().to_lowercase(), b.created_at))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded() {
        assert_eq!(FolderName::parse("  Trips ").unwrap().as_str(), "Trips");
        assert!(FolderName::parse("").is_err());
        assert!(FolderName::parse(&"x".repeat(61)).is_err());
        assert!(FolderName::parse("a\nb").is_err());
    }

    #[test]
    fn settings_are_checked_by_field() {
        let set = Folder::settings("Work", " ", " Be brief. ").unwrap();
        assert_eq!(
            (set.name.as_str(), set.model, set.system.as_deref()),
            ("Work", None, Some("Be brief."))
        );
        let errors = Folder::settings(
            "",
            "m",
            &"x".repeat(crate::conversations::MAX_SYSTEM_PROMPT_BYTES + 1),
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["folder_name", "folder_system"]);
    }

    #[test]
    fn folders_sort_by_name_ignoring_case() {
        let folder = |name: &str, at| Folder {
            id: FolderId::generate(),
            name: FolderName::parse(name).unwrap(),
            model: None,
            system: None,
            created_at: at,
        };
        let mut list = vec![folder("work", 1), folder("Trips", 2), folder("Art", 3)];
        sort(&mut list);
        let names: Vec<_> = list.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Art", "Trips", "work"]);
    }
}
