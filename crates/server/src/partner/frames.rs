//! Camera frames read on the server, for browsers without a `BarcodeDetector`: a JPEG or PNG
//! frame is decoded, made grey, scaled down when large, and searched for QR codes.

use image::imageops::FilterType;
use image::GenericImageView;

/// The largest frame accepted, in bytes.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// Frames wider or taller than this are scaled down before the search (a QR code held up to
/// a camera stays readable, and the search stays fast).
const MAX_SIDE: u32 = 1024;

/// Why a frame gave no code.
#[derive(Debug, PartialEq, Eq)]
pub enum NoCode {
    /// Not an image we read (JPEG or PNG), or too large.
    Unreadable,
    /// An image without a readable QR code.
    NotFound,
}

/// The text of the first QR code found in the frame.
pub fn read_qr(frame: &[u8]) -> Result<String, NoCode> {
    if frame.len() > MAX_FRAME_BYTES {
        return Err(NoCode::Unreadable);
    }
    let format = image::guess_format(frame).map_err(|_| NoCode::Unreadable)?;
    if !matches!(format, image::ImageFormat::Jpeg | image::ImageFormat::Png) {
        return Err(NoCode::Unreadable);
    }
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(frame), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(8192);
    limits.max_image_height = Some(8192);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|_| NoCode::Unreadable)?;
    let (w, h) = decoded.dimensions();
    let decoded = if w.max(h) > MAX_SIDE {
        decoded.resize(MAX_SIDE, MAX_SIDE, FilterType::Triangle)
    } else {
        decoded
    };
    let grey = decoded.to_luma8();
    let (w, h) = grey.dimensions();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
            grey.get_pixel(x as u32, y as u32).0[0]
        });
    prepared
        .detect_grids()
        .into_iter()
        .find_map(|g| g.decode().ok().map(|(_, text)| text))
        .ok_or(NoCode::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(text: &str) -> Vec<u8> {
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let modules = code.width();
        let scale = 6;
        let side = (modules + 8) * scale;
        let colors = code.to_colors();
        let img = image::GrayImage::from_fn(side as u32, side as u32, |x, y| {
            let (mx, my) = (x as usize / scale, y as usize / scale);
            let dark = mx >= 4
                && my >= 4
                && mx - 4 < modules
                && my - 4 < modules
                && colors[(my - 4) * modules + (mx - 4)] == qrcode::Color::Dark;
            image::Luma([if dark { 0 } else { 255 }])
        });
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn reads_a_qr_code_and_refuses_what_is_not_an_image() {
        assert_eq!(
            read_qr(&png_of("pc1.c.hello")).as_deref(),
            Ok("pc1.c.hello")
        );
        assert_eq!(read_qr(b"not an image"), Err(NoCode::Unreadable));
        let blank = {
            let img = image::GrayImage::from_pixel(64, 64, image::Luma([255]));
            let mut out = Vec::new();
            img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
                .unwrap();
            out
        };
        assert_eq!(read_qr(&blank), Err(NoCode::NotFound));
    }
}
