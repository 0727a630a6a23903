// The X-ray image tools, drawn on a canvas in the page (no third-party service): zoom and
// pan (wheel, drag, keys), brightness and contrast, invert, a pseudo-colour palette; small
// views are scaled up smoothly to fill the frame. The look (brightness, contrast, invert,
// palette) carries from one parcel to the next, as an officer sets it once for a shift;
// zoom and pan start afresh with each image.
import { t } from "./i18n.js";
import { h } from "./dom.js";

const PALETTES = ["gray", "hot", "rainbow"];

/** What every viewer shares: the officer's chosen look. */
const look = { brightness: 0, contrast: 1, invert: false, palette: 0 };
const viewers = new Set();

function clamp(v, lo, hi) {
  return Math.max(lo, Math.min(hi, v));
}

/** 256 RGB triples for a palette index. */
function lut(palette) {
  const out = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i += 1) {
    const x = i / 255;
    let r = i, g = i, b = i;
    if (PALETTES[palette] === "hot") {
      r = 255 * clamp(x * 3, 0, 1);
      g = 255 * clamp(x * 3 - 1, 0, 1);
      b = 255 * clamp(x * 3 - 2, 0, 1);
    } else if (PALETTES[palette] === "rainbow") {
      // Dense (dark) matter blue to thin (light) matter red, as baggage screens colour it.
      const hue = (1 - x) * 240;
      const c = 1, hh = hue / 60, k = c * (1 - Math.abs((hh % 2) - 1));
      const [r1, g1, b1] = hh < 1 ? [c, k, 0] : hh < 2 ? [k, c, 0] : hh < 3 ? [0, c, k] : hh < 4 ? [0, k, c] : [k, 0, c];
      const v = 0.25 + 0.75 * x;
      r = 255 * r1 * v;
      g = 255 * g1 * v;
      b = 255 * b1 * v;
    }
    out[i * 3] = r;
    out[i * 3 + 1] = g;
    out[i * 3 + 2] = b;
  }
  return out;
}

export class XrayViewer {
  /** A viewer with its toolbar; `opts.onFullscreen()` is offered as a button when given. */
  constructor(opts = {}) {
    this.opts = opts;
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.source = null; // ImageData of the image as loaded
    this.processed = document.createElement("canvas");
    this.canvas = h("canvas", { className: "xray", tabindex: "0", "aria-label": t("viewer_title") });
    this.toolbar = h("div", { className: "xray-tools", role: "toolbar", "aria-label": t("viewer_title") },
      this.button("zoom-in", "＋", t("tool_zoom_in"), () => this.zoomBy(1.25)),
      this.button("zoom-out", "－", t("tool_zoom_out"), () => this.zoomBy(0.8)),
      this.button("reset", t("tool_reset"), t("tool_reset"), () => this.reset()),
      this.button("brighter", t("tool_brighter"), t("tool_brighter"), () => this.adjust("brightness", 15)),
      this.button("darker", t("tool_darker"), t("tool_darker"), () => this.adjust("brightness", -15)),
      this.button("contrast-up", t("tool_contrast_up"), t("tool_contrast_up"), () => this.adjust("contrast", 0.15)),
      this.button("contrast-down", t("tool_contrast_down"), t("tool_contrast_down"), () => this.adjust("contrast", -0.15)),
      this.button("invert", t("tool_invert"), t("tool_invert"), () => this.toggleInvert()),
      this.button("palette", t("tool_palette"), t("tool_palette"), () => this.nextPalette()),
      opts.onFullscreen ? this.button("fullscreen", t("tool_fullscreen"), t("tool_fullscreen"), () => opts.onFullscreen()) : null,
      h("small", { className: "xray-look" }));
    this.element = h("div", { className: "xray-viewer" }, this.canvas, this.toolbar);
    this.bindPointer();
    this.resizer = new ResizeObserver(() => this.draw());
    this.resizer.observe(this.canvas);
    viewers.add(this);
    this.showLook();
  }

  button(name, label, title, fn) {
    return h("button", { type: "button", className: `tool tool-${name}`, title, "aria-label": title, onclick: fn }, label);
  }

  /** Forget this viewer (its element was removed). */
  dispose() {
    this.resizer.disconnect();
    viewers.delete(this);
  }

  /** Show the image at `src` (same origin: its pixels can be read). */
  setImage(src) {
    if (this.src === src) return;
    this.src = src;
    this.reset(false);
    const img = new Image();
    img.decoding = "async";
    img.onload = () => {
      if (this.src !== src) return;
      const c = document.createElement("canvas");
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const ctx = c.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(img, 0, 0);
      this.source = ctx.getImageData(0, 0, c.width, c.height);
      this.process();
      this.canvas.dataset.loaded = src;
    };
    img.src = src;
  }

  /** Apply the look to the loaded pixels, then draw. */
  process() {
    if (!this.source) return;
    const { width, height, data } = this.source;
    this.processed.width = width;
    this.processed.height = height;
    const ctx = this.processed.getContext("2d");
    const out = ctx.createImageData(width, height);
    const o = out.data;
    const table = lut(look.palette);
    const gray = look.palette === 0;
    const { brightness, contrast, invert } = look;
    const tone = new Uint8ClampedArray(256);
    for (let i = 0; i < 256; i += 1) {
      let v = (i - 128) * contrast + 128 + brightness;
      v = clamp(v, 0, 255);
      tone[i] = invert ? 255 - v : v;
    }
    for (let i = 0; i < data.length; i += 4) {
      if (gray) {
        o[i] = tone[data[i]];
        o[i + 1] = tone[data[i + 1]];
        o[i + 2] = tone[data[i + 2]];
      } else {
        const l = tone[(data[i] * 77 + data[i + 1] * 150 + data[i + 2] * 29) >> 8] * 3;
        o[i] = table[l];
        o[i + 1] = table[l + 1];
        o[i + 2] = table[l + 2];
      }
      o[i + 3] = data[i + 3];
    }
    ctx.putImageData(out, 0, 0);
    this.draw();
  }

  /** Draw the processed image fitted to the canvas, zoomed and panned, smoothly scaled. */
  draw() {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(c.clientWidth * ratio));
    const hgt = Math.max(1, Math.round(c.clientHeight * ratio));
    if (c.width !== w || c.height !== hgt) {
      c.width = w;
      c.height = hgt;
    }
    const ctx = c.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, hgt);
    if (!this.source) return;
    const iw = this.processed.width, ih = this.processed.height;
    const fit = Math.min(w / iw, hgt / ih) * this.zoom;
    const dw = iw * fit, dh = ih * fit;
    const x = (w - dw) / 2 + this.panX * ratio;
    const y = (hgt - dh) / 2 + this.panY * ratio;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(this.processed, x, y, dw, dh);
  }

  reset(redraw = true) {
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    if (redraw) this.draw();
  }

  zoomBy(factor) {
    this.zoom = clamp(this.zoom * factor, 1, 12);
    if (this.zoom === 1) {
      this.panX = 0;
      this.panY = 0;
    }
    this.draw();
  }

  panBy(dx, dy) {
    this.panX += dx;
    this.panY += dy;
    this.draw();
  }

  adjust(what, by) {
    if (what === "brightness") look.brightness = clamp(look.brightness + by, -120, 120);
    else look.contrast = clamp(Math.round((look.contrast + by) * 100) / 100, 0.2, 4);
    changed();
  }

  toggleInvert() {
    look.invert = !look.invert;
    changed();
  }

  nextPalette() {
    look.palette = (look.palette + 1) % PALETTES.length;
    changed();
  }

  showLook() {
    const parts = [];
    if (look.brightness) parts.push(`${t("tool_brighter")} ${look.brightness > 0 ? "+" : ""}${look.brightness}`);
    if (look.contrast !== 1) parts.push(`${t("tool_contrast_up").replace(/[+＋]$/, "")} ×${look.contrast.toFixed(2)}`);
    if (look.invert) parts.push(t("tool_invert"));
    if (look.palette) parts.push(t(`palette_${PALETTES[look.palette]}`));
    this.toolbar.querySelector(".xray-look").textContent = parts.join(" · ");
    this.toolbar.querySelector(".tool-invert").setAttribute("aria-pressed", String(look.invert));
  }

  bindPointer() {
    const c = this.canvas;
    c.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      this.zoomBy(ev.deltaY < 0 ? 1.15 : 1 / 1.15);
    }, { passive: false });
    let drag = null;
    c.addEventListener("pointerdown", (ev) => {
      drag = { x: ev.clientX, y: ev.clientY };
      c.setPointerCapture(ev.pointerId);
    });
    c.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      this.panBy(ev.clientX - drag.x, ev.clientY - drag.y);
      drag = { x: ev.clientX, y: ev.clientY };
    });
    const end = () => { drag = null; };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    c.addEventListener("dblclick", () => this.reset());
  }

  /** The viewer's keys; true when the key was one. */
  key(ev) {
    const k = ev.key;
    const step = 40;
    const act = {
      "+": () => this.zoomBy(1.25), "=": () => this.zoomBy(1.25), "-": () => this.zoomBy(0.8), "0": () => this.reset(),
      ArrowLeft: () => this.panBy(step, 0), ArrowRight: () => this.panBy(-step, 0),
      ArrowUp: () => this.panBy(0, step), ArrowDown: () => this.panBy(0, -step),
      b: () => this.adjust("brightness", 15), d: () => this.adjust("brightness", -15),
      c: () => this.adjust("contrast", 0.15), v: () => this.adjust("contrast", -0.15),
      i: () => this.toggleInvert(), p: () => this.nextPalette(),
    }[k.length === 1 ? k.toLowerCase() : k];
    if (!act) return false;
    act();
    return true;
  }
}

/** Every viewer shows the new look. */
function changed() {
  for (const v of viewers) {
    if (!v.canvas.isConnected) continue;
    v.showLook();
    v.process();
  }
}
