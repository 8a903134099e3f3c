//! The 12-byte file header (spec section 3.1).

use crate::defs::{Header, HEADER_LEN};
use nom::bytes::complete::take;
use nom::number::complete::be_u32;
use nom::IResult;

fn header(i: &[u8]) -> IResult<&[u8], Header, ()> {
    let (i, raw_version) = be_u32(i)?;
    let (i, reserved) = take(8usize)(i)?;
    let mut r = [0u8; 8];
    r.copy_from_slice(reserved);
    Ok((
        i,
        Header {
            raw_version,
            reserved: r,
        },
    ))
}

/// The header, or the number of bytes missing from it.
pub(crate) fn parse(data: &[u8]) -> Result<Header, u64> {
    match header(data) {
        Ok((_, h)) => Ok(h),
        Err(_) => Err((HEADER_LEN - data.len().min(HEADER_LEN)) as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports_missing_bytes() {
        let mut b = vec![0x00, 0xe0, 0x20, 0x0c];
        b.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let h = parse(&b).unwrap();
        assert_eq!(h.raw_version, 0xe0200c);
        assert_eq!(h.reserved, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(h.to_bytes().to_vec(), b);
        assert_eq!(parse(&b[..5]), Err(7));
        assert_eq!(parse(&[]), Err(12));
    }
}
