//! What kind of document or image a request carries, read from its first bytes (as the
//! services do: the file name and Content-Type do not matter), and how many pages a PDF or
//! TIFF has, because synchronous AnalyzeDocument takes single-page documents only.

/// A format the built-in services know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// TIFF (either byte order).
    Tiff,
    /// PDF.
    Pdf,
}

impl Format {
    /// Sniffs the magic bytes; `None` for anything else.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Format::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Format::Jpeg)
        } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(Format::Tiff)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Format::Pdf)
        } else {
            None
        }
    }

    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Tiff => "TIFF",
            Format::Pdf => "PDF",
        }
    }
}

/// Most IFDs followed in a TIFF before it counts as "many pages" (bounds a hostile chain).
const MAX_TIFF_IFDS: usize = 64;

/// The number of pages of a document: 1 for images; for a PDF the number of page objects
/// (`/Type /Page`, not `/Pages`); for a TIFF the length of its IFD chain. `None` when a PDF
/// names no page at all (it cannot be read).
pub fn page_count(format: Format, bytes: &[u8]) -> Option<usize> {
    match format {
        Format::Png | Format::Jpeg => Some(1),
        Format::Pdf => {
            let pages = pdf_page_objects(bytes);
            (pages > 0).then_some(pages)
        }
        Format::Tiff => Some(tiff_ifd_count(bytes)),
    }
}

/// Counts `/Type/Page` and `/Type /Page` entries whose name ends there (so `/Pages` does not
/// count). Compressed object streams can hide page objects; such a PDF counts as unreadable
/// or under-counted, which only matters for the multi-page refusal (documented).
fn pdf_page_objects(bytes: &[u8]) -> usize {
    let mut count = 0;
    let mut i = 0;
    while let Some(pos) = find(&bytes[i..], b"/Type") {
        let mut j = i + pos + 5;
        while j < bytes.len() && matches!(bytes[j], b' ' | b'\r' | b'\n' | b'\t') {
            j += 1;
        }
        if bytes[j..].starts_with(b"/Page") {
            let after = bytes.get(j + 5).copied();
            let continues_name = after.is_some_and(|b| b.is_ascii_alphanumeric());
            if !continues_name {
                count += 1;
            }
        }
        i = j.max(i + pos + 1);
    }
    count
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn tiff_ifd_count(bytes: &[u8]) -> usize {
    let little = bytes.starts_with(b"II");
    let u16_at = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at + 2)?;
        Some(if little {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        } as usize)
    };
    let u32_at = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at + 4)?;
        Some(if little {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        } as usize)
    };
    let mut count = 0;
    let mut offset = u32_at(4).unwrap_or(0);
    while offset != 0 && count < MAX_TIFF_IFDS {
        count += 1;
        let Some(entries) = u16_at(offset) else { break };
        offset = u32_at(offset + 2 + entries * 12).unwrap_or(0);
    }
    count.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_four_formats_and_nothing_else() {
        assert_eq!(Format::sniff(b"\x89PNG\r\n\x1a\nrest"), Some(Format::Png));
        assert_eq!(Format::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Format::Jpeg));
        assert_eq!(Format::sniff(b"II*\0...."), Some(Format::Tiff));
        assert_eq!(Format::sniff(b"MM\0*...."), Some(Format::Tiff));
        assert_eq!(Format::sniff(b"%PDF-1.7"), Some(Format::Pdf));
        assert_eq!(Format::sniff(b"GIF89a"), None);
        assert_eq!(Format::sniff(b""), None);
    }

    #[test]
    fn counts_pdf_pages_but_not_the_pages_tree() {
        let one = b"%PDF-1.4\n1 0 obj<</Type /Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type /Page/Parent 2 0 R>>endobj";
        assert_eq!(page_count(Format::Pdf, one), Some(1));
        let two = b"%PDF-1.4\n<</Type/Pages>>\n<</Type/Page>>\n<</Type\n/Page /Parent 1 0 R>>";
        assert_eq!(page_count(Format::Pdf, two), Some(2));
        assert_eq!(page_count(Format::Pdf, b"%PDF-1.4 nothing"), None);
        assert_eq!(page_count(Format::Pdf, b"%PDF-1.4 /Type"), None);
    }

    fn tiff(ifds: usize) -> Vec<u8> {
        // Header, then each IFD with zero entries pointing at the next.
        let mut bytes = b"II*\0".to_vec();
        bytes.extend_from_slice(&8u32.to_le_bytes());
        for i in 0..ifds {
            bytes.extend_from_slice(&0u16.to_le_bytes());
            let next = if i + 1 == ifds {
                0
            } else {
                bytes.len() as u32 + 4
            };
            bytes.extend_from_slice(&next.to_le_bytes());
        }
        bytes
    }

    #[test]
    fn counts_tiff_pages_by_their_ifd_chain() {
        assert_eq!(page_count(Format::Tiff, &tiff(1)), Some(1));
        assert_eq!(page_count(Format::Tiff, &tiff(3)), Some(3));
        // A chain that loops on itself stops at the bound instead of spinning.
        let mut looping = b"II*\0".to_vec();
        looping.extend_from_slice(&8u32.to_le_bytes());
        looping.extend_from_slice(&0u16.to_le_bytes());
        looping.extend_from_slice(&8u32.to_le_bytes());
        assert_eq!(page_count(Format::Tiff, &looping), Some(MAX_TIFF_IFDS));
        // Truncated: one page.
        assert_eq!(page_count(Format::Tiff, b"II*\0\xff\xff\0\0"), Some(1));
    }
}
