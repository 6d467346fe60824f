//! The file types a credential may be, and whether an uploaded file's bytes are what it was
//! declared as: its size within the type's limit, its magic bytes (read by the `infer` crate)
//! those of the declared type. An ELF or a ZIP declared as a PDF is refused, whatever its name.

use serde::{Deserialize, Serialize};

/// The file types Steward accepts as credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FileKind {
    #[serde(rename = "application/pdf")]
    Pdf,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/jpeg")]
    Jpeg,
}

impl FileKind {
    pub const ALL: [FileKind; 3] = [FileKind::Pdf, FileKind::Png, FileKind::Jpeg];

    /// Its MIME type: what an upload declares, and the content type its presigned URL pins.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }

    pub fn parse(mime: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.mime() == mime.trim())
    }

    /// The file extension its objects are stored with.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Png => "png",
            Self::Jpeg => "jpg",
        }
    }
}

/// How many bytes of a file [`check`] needs to see: enough for every signature `infer` knows
/// of the accepted types (and of those it must tell them from, such as ZIP and ELF).
pub const HEAD_BYTES: usize = 8 * 1024;

/// Why an uploaded file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileRefusal {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {size} bytes; this credential type takes at most {limit}")]
    TooLarge { size: u64, limit: u64 },
    #[error("the file was declared {declared} but its content is {found}")]
    WrongType { declared: String, found: String },
}

/// Whether a file of `size` bytes beginning with `head` is a `declared` file within `limit`.
pub fn check(declared: FileKind, size: u64, limit: u64, head: &[u8]) -> Result<(), FileRefusal> {
    if size == 0 {
        return Err(FileRefusal::Empty);
    }
    if size > limit {
        return Err(FileRefusal::TooLarge { size, limit });
    }
    let found = infer::get(head).map(|t| t.mime_type());
    if found != Some(declared.mime()) {
        return Err(FileRefusal::WrongType {
            declared: declared.mime().to_owned(),
            found: found.unwrap_or("not a known file type").to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R',
    ];
    /// An ELF header: `infer` wants its 64 bytes whole.
    const ELF: &[u8] = &[
        0x7F, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3E, 0, 1, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0,
        56, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    const ZIP: &[u8] = &[b'P', b'K', 3, 4, 20, 0, 0, 0, 8, 0];

    #[test]
    fn files_are_what_their_bytes_say() {
        assert_eq!(check(FileKind::Pdf, 100, 1_000, PDF), Ok(()));
        assert_eq!(check(FileKind::Png, 100, 1_000, PNG), Ok(()));
        for (bytes, found) in [(ELF, "application/x-executable"), (ZIP, "application/zip")] {
            assert_eq!(
                check(FileKind::Pdf, 100, 1_000, bytes),
                Err(FileRefusal::WrongType {
                    declared: "application/pdf".into(),
                    found: found.into()
                })
            );
        }
        assert!(matches!(
            check(FileKind::Png, 100, 1_000, PDF),
            Err(FileRefusal::WrongType { .. })
        ));
        assert!(matches!(
            check(FileKind::Pdf, 100, 1_000, b"hello"),
            Err(FileRefusal::WrongType { .. })
        ));
    }

    #[test]
    fn sizes_are_bounded() {
        assert_eq!(
            check(FileKind::Pdf, 1_001, 1_000, PDF),
            Err(FileRefusal::TooLarge {
                size: 1_001,
                limit: 1_000
            })
        );
        assert_eq!(check(FileKind::Pdf, 0, 1_000, PDF), Err(FileRefusal::Empty));
    }

    #[test]
    fn kinds_by_mime() {
        assert_eq!(FileKind::parse("image/jpeg"), Some(FileKind::Jpeg));
        assert_eq!(FileKind::parse("text/plain"), None);
        assert_eq!(
            serde_json::to_value(FileKind::Pdf).unwrap(),
            serde_json::json!("application/pdf")
        );
    }
}
