// A BarcodeDetector for QR codes, as the Shape Detection API defines it, backed by jsQR: the
// browser tests run it in every page of a Chromium build that has no detector of its own, so
// the scanner's browser path is exercised. Each code found is counted in sessionStorage
// (`barcode-detector-reads`), which outlives the navigation that a read code starts.
(function () {
  "use strict";
  var module = { exports: {} };
  var exports = module.exports;
  /*JSQR*/
  var jsQR = module.exports.default || module.exports;
  var canvas = null;

  function size(source) {
    return [source.videoWidth || source.naturalWidth || source.width || 0,
            source.videoHeight || source.naturalHeight || source.height || 0];
  }

  function BarcodeDetector(options) {
    var formats = (options && options.formats) || ["qr_code"];
    if (formats.some(function (f) { return f !== "qr_code"; })) {
      throw new TypeError("only qr_code is supported here");
    }
  }
  BarcodeDetector.getSupportedFormats = function () { return Promise.resolve(["qr_code"]); };
  BarcodeDetector.prototype.detect = function (source) {
    return new Promise(function (resolve) {
      var wh = size(source), w = wh[0], h = wh[1];
      if (!w || !h) { resolve([]); return; }
      canvas = canvas || document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(source, 0, 0, w, h);
      var code = jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" });
      if (!code) { resolve([]); return; }
      var reads = Number(sessionStorage.getItem("barcode-detector-reads") || "0") + 1;
      sessionStorage.setItem("barcode-detector-reads", String(reads));
      var l = code.location;
      var xs = [l.topLeftCorner.x, l.topRightCorner.x, l.bottomRightCorner.x, l.bottomLeftCorner.x];
      var ys = [l.topLeftCorner.y, l.topRightCorner.y, l.bottomRightCorner.y, l.bottomLeftCorner.y];
      var x = Math.min.apply(null, xs), y = Math.min.apply(null, ys);
      resolve([{
        rawValue: code.data,
        format: "qr_code",
        boundingBox: new DOMRectReadOnly(x, y, Math.max.apply(null, xs) - x, Math.max.apply(null, ys) - y),
        cornerPoints: [l.topLeftCorner, l.topRightCorner, l.bottomRightCorner, l.bottomLeftCorner]
      }]);
    });
  };
  Object.defineProperty(window, "BarcodeDetector", { value: BarcodeDetector, configurable: true, writable: true });
})();
