// Device names and details as the controller reports them (English, for the log) in the
// console's language: known phrases are put into Chinese, numbers and names stay; the
// original is kept for the technical view (a tooltip / the alarm page's details).
import { getLang } from "./i18n.js";

const ZH = [
  ["weighing (through the PLC)", "称重（经 PLC）"], ["the PLC reports a scale fault", "PLC 报告动态秤故障"],
  ["the last poll failed", "上次轮询失败"], ["not polled yet", "尚未轮询"], ["belt stopped", "皮带停止"],
  ["dynamic scale", "动态秤"], ["plate cameras", "车牌摄像机"], ["gate I/O", "卡口 I/O"], ["weighbridge", "地磅"],
  ["barcode scanner", "扫码器"], ["scanner", "扫码器"], ["X-ray feed", "X光图像"], ["X-ray", "X光机"],
  ["file events", "文件事件"], ["polling", "轮询中"], ["streaming", "取流中"], ["connecting", "连接中"],
  ["connected", "已连接"], ["disconnected", "已断开"], ["reconnecting", "重连中"], ["backoff", "重连等待"],
  ["stopped", "已停止"], ["listener", "监听"], ["PLC fault:", "PLC 故障："], ["no good PLC poll for", "PLC 无有效轮询已"],
  ["published", "已发布"], ["acks", "确认"], ["dead letters", "死信"], ["at", "帧率"], ["fps", "帧/秒"],
];

/** `text` in Chinese when the console speaks Chinese (known phrases only). */
export function deviceText(text) {
  const s = String(text ?? "");
  if (getLang() !== "zh" || !s) return s;
  let out = s;
  for (const [en, zh] of ZH) {
    if (en.length < 3) continue;
    out = out.split(en).join(zh);
  }
  return out;
}
