//! What a file is, from its bytes: images and PDFs by their magic numbers, text by being
//! UTF-8 without NULs. The name only tells text kinds apart (Markdown, CSV) and catches a
//! disguise: a name that claims one type over content of another is refused.
//!
//! Token estimates (docs/models.md): an image costs `width × height / 750` tokens after being
//! scaled to fit 1,568 pixels on its long side and 1.15 megapixels, so at most about 1,600
//! (Anthropic's published rule, close to the others'); a PDF 1,500 per page; text one per 4
//! bytes.

use super::{FileName, Kind, MediaType};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub media_type: MediaType,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub tokens: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SniffError {
    #[error("{name} is empty.")]
    Empty { name: String },
    #[error(
        "{name} is not a type that can be attached (images: PNG, JPEG, WebP, GIF; documents: \
         PDF, text, Markdown, CSV, source code)."
    )]
    Unsupported { name: String },
    #[error("{name} is named like a {claimed} but its content is {actual}.")]
    Disguised {
        name: String,
        claimed: &'static str,
        actual: &'static str,
    },
    #[error("{name} is larger than a {label} may be ({limit}).")]
    TooLarge {
        name: String,
        label: &'static str,
        limit: String,
    },
    #[error("{name} could not be read as an image.")]
    BadImage { name: String },
}

/// The extensions of the binary types, which the content must then agree with.
fn claimed_by_extension(ext: &str) -> Option<MediaType> {
    Some(match ext {
        "png" => MediaType::Png,
        "jpg" | "jpeg" | "jfif" => MediaType::Jpeg,
        "webp" => MediaType::Webp,
        "gif" => MediaType::Gif,
        "pdf" => MediaType::Pdf,
        _ => return None,
    })
}

fn text_kind(ext: Option<&str>) -> MediaType {
    match ext {
        Some("md" | "markdown") => MediaType::Markdown,
        Some("csv") => MediaType::Csv,
        _ => MediaType::Text,
    }
}

/// Checks the file named `name` whose bytes are `bytes` (all of them: the size limit is
/// checked here too).
pub fn check(name: &FileName, bytes: &[u8]) -> Result<Checked, SniffError> {
    let who = || name.as_str().to_string();
    if bytes.is_empty() {
        return Err(SniffError::Empty { name: who() });
    }
    let ext = name.extension();
    let binary = infer::get(bytes).and_then(|t| match t.mime_type() {
        "image/png" => Some(MediaType::Png),
        "image/jpeg" => Some(MediaType::Jpeg),
        "image/webp" => Some(MediaType::Webp),
        "image/gif" => Some(MediaType::Gif),
        "application/pdf" => Some(MediaType::Pdf),
        _ => None,
    });
    let media_type = match binary {
        Some(t) => t,
        None if is_text(bytes) => text_kind(ext.as_deref()),
        None => return Err(SniffError::Unsupported { name: who() }),
    };
    if let Some(claimed) = ext.as_deref().and_then(claimed_by_extension)
        && claimed != media_type
    {
        return Err(SniffError::Disguised {
            name: who(),
            claimed: claimed.label(),
            actual: media_type.label(),
        });
    }
    if bytes.len() as u64 > media_type.max_bytes() {
        return Err(SniffError::TooLarge {
            name: who(),
            label: media_type.label(),
            limit: super::size_label(media_type.max_bytes()),
        });
    }
    let (width, height, tokens) = match media_type.kind() {
        Kind::Image => {
            let size =
                imagesize::blob_size(bytes).map_err(|_| SniffError::BadImage { name: who() })?;
            let (w, h) = (size.width as u32, size.height as u32);
            if w == 0 || h == 0 {
                return Err(SniffError::BadImage { name: who() });
            }
            (Some(w), Some(h), image_tokens(w, h))
        }
        Kind::Document => (None, None, 1_500 * pdf_pages(bytes)),
        Kind::Text => (None, None, (bytes.len() as u32).div_ceil(4)),
    };
    Ok(Checked {
        media_type,
        width,
        height,
        tokens,
    })
}

/// UTF-8 (a byte-order mark allowed) with no NUL: what a text editor saves.
fn is_text(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
}

pub fn image_tokens(width: u32, height: u32) -> u32 {
    const LONG_SIDE: f64 = 1_568.0;
    let (w, h) = (f64::from(width), f64::from(height));
    const PIXELS: f64 = 1_150_000.0;
    let scale = (LONG_SIDE / w.max(h))
        .min((PIXELS / (w * h)).sqrt())
        .min(1.0);
    ((w * scale) * (h * scale) / 750.0).ceil().max(1.0) as u32
}

/// Pages, counted by their `/Type /Page` objects (a PDF's page tree leaves); at least one.
fn pdf_pages(bytes: &[u8]) -> u32 {
    let mut pages = 0u32;
    let needle = b"/Type";
    let mut i = 0;
    while let Some(at) = find(&bytes[i..], needle) {
        let rest = &bytes[i + at + needle.len()..];
        let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
        if rest.starts_with(b"/Page") && !rest.starts_with(b"/Pages") {
            pages += 1;
        }
        i += at + needle.len();
    }
    pages.clamp(1, 1_000)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const PNG: &[u8] = crate::testing::PNG_2X1;

    fn name(raw: &str) -> FileName {
        FileName::parse(raw).unwrap()
    }

    #[test]
    fn images_are_known_by_their_bytes_with_their_size() {
        let checked = check(&name("shot.png"), PNG).unwrap();
        assert_eq!(checked.media_type, MediaType::Png);
        assert_eq!((checked.width, checked.height), (Some(2), Some(1)));
        assert_eq!(checked.tokens, 1);
        // The name does not decide: a PNG named without an extension is still a PNG.
        assert_eq!(
            check(&name("screenshot"), PNG).unwrap().media_type,
            MediaType::Png
        );
    }

    #[test]
    fn a_disguise_is_refused() {
        let pdf = b"%PDF-1.7\n1 0 obj << /Type /Page >> endobj\n%%EOF";
        assert_eq!(
            check(&name("doc.pdf"), pdf).unwrap().media_type,
            MediaType::Pdf
        );
        assert!(matches!(
            check(&name("photo.png"), pdf),
            Err(SniffError::Disguised {
                claimed: "PNG image",
                actual: "PDF document",
                ..
            })
        ));
        // Text named as an image is not an image.
        assert!(matches!(
            check(&name("photo.jpg"), b"just text"),
            Err(SniffError::Disguised { .. })
        ));
        // A program is not a document, whatever its name.
        let elf = b"\x7FELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00";
        assert!(matches!(
            check(&name("notes.txt"), elf),
            Err(SniffError::Unsupported { .. })
        ));
        assert!(matches!(
            check(&name("a.txt"), b"nul\0inside"),
            Err(SniffError::Unsupported { .. })
        ));
        // An image whose header lies about itself.
        assert!(matches!(
            check(&name("x.png"), &PNG[..12]),
            Err(SniffError::BadImage { .. })
        ));
    }

    #[test]
    fn text_kinds_come_from_the_name_and_sizes_are_bounded() {
        assert_eq!(
            check(&name("a.md"), b"# hi").unwrap().media_type,
            MediaType::Markdown
        );
        assert_eq!(
            check(&name("a.csv"), b"a,b\n1,2").unwrap().media_type,
            MediaType::Csv
        );
        let code = check(&name("main.rs"), b"fn main() {}").unwrap();
        assert_eq!((code.media_type, code.tokens), (MediaType::Text, 3));
        assert!(matches!(
            check(&name("e.txt"), b""),
            Err(SniffError::Empty { .. })
        ));
        let big = vec![b'a'; MAX_TEXT + 1];
        assert!(matches!(
            check(&name("big.txt"), &big),
            Err(SniffError::TooLarge { .. })
        ));
    }

    const MAX_TEXT: usize = super::super::MAX_TEXT_BYTES as usize;

    #[test]
    fn image_tokens_follow_the_documented_rule() {
        assert_eq!(image_tokens(1_000, 1_000), 1_334);
        // Scaled to 1.15 megapixels first.
        assert_eq!(image_tokens(4_000, 3_000), 1_534);
        assert!(image_tokens(10_000, 10_000) <= 1_600);
    }

    #[test]
    fn pdf_pages_are_counted() {
        let three = b"%PDF-1.4 /Type /Pages /Type /Page /Type/Page /Type  /Page";
        assert_eq!(check(&name("x.pdf"), three).unwrap().tokens, 4_500);
    }
}
