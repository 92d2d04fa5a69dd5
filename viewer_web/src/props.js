// What the details panel calls a node's properties, in Chinese and English, and how it shows
// their values (area codes as area names, states in words): no raw keys on the screen.
import { language } from "./strings.js";

/** Quantities by their scene key → [zh, en] (GET /api/quantities: twin/sensor_codes.toml). */
export const QUANTITIES = {};
/** A switch quantity's two states → [[zh 0, zh 1], [en 0, en 1]]. */
const SWITCH_STATES = {};

/** The server's table of quantities (GET /api/quantities): names, and what a switch's 0 / 1 mean. */
export function setQuantities(table) {
  for (const [key, q] of Object.entries(table ?? {})) {
    QUANTITIES[key] = [q.zh, q.en || q.zh];
    if (q.states) SWITCH_STATES[key] = [q.states, q.states_en ?? q.states];
  }
}

/** Property names (scene keys → [zh, en]). */
const NAMES = {
  point_code: ["测点编号", "point code"], linkage: ["联动关系", "linkage"], cut_by: ["断电控制测点", "cut by"], quantity: ["监测量", "quantity"], quantity_name: ["测点类型", "sensor type"],
  sensor_type: ["传感器类型代码", "sensor type code"], value_type: ["数值类型", "value type"],
  location: ["安装位置", "location"], category: ["测点类别", "position category"], outstation: ["所属分站", "outstation"],
  roadway: ["所在巷道", "roadway"], chainage_m: ["巷道里程", "chainage"], area: ["所在区域", "area"],
  area_kind: ["区域类型", "area kind"], rated_headcount: ["核定人数", "rated headcount"], headcount: ["当前人数", "people now"],
  roadways: ["包含巷道", "roadways"], card: ["定位卡号", "card"], team: ["所在队组", "team"], post: ["职务", "post"],
  trade: ["工种", "trade"], leader: ["带班领导", "shift leader"], special_worker: ["特种作业人员", "special worker"],
  underground: ["在井下", "underground"], reader: ["当前基站", "reader"], reader_code: ["基站编号", "reader code"],
  badge: ["卡号", "badge"], online: ["在线", "online"], sos: ["求救", "SOS"],
  alarm_level: ["报警级别", "alarm level"], risk_level: ["风险等级", "risk level"], power_off: ["断电", "power cut"], data_state: ["数据状态", "data state"],
  point_state: ["测点状态", "point state"], outburst_danger: ["突出危险", "outburst danger"],
  combustion_stage: ["自然发火阶段", "spontaneous combustion stage"],
  equipment_kind: ["设备类型", "equipment kind"], advanced_m: ["推进/掘进距离", "advanced"],
  plan_m_per_day: ["计划日进度", "planned advance per day"], face_length_m: ["工作面长度", "face length"],
  mining_height_m: ["采高", "mining height"], seam: ["煤层", "seam"], area_m2: ["面积", "area"],
  caved_zone_height_m: ["冒落带高度", "caved zone height"], fractured_zone_height_m: ["导水裂隙带高度", "fractured zone height"],
  length_m: ["长度", "length"], width_m: ["宽度", "width"], height_m: ["高度", "height"], profile: ["断面形状", "profile"],
  air: ["通风方向", "ventilation"], roadway_type: ["巷道类型代码", "roadway type code"], roadway_type_name: ["巷道类型", "roadway type"],
  mine_code: ["矿井编码", "mine code"], gas_class: ["瓦斯等级", "gas class"], time_zone: ["时区", "time zone"],
  crs: ["坐标系", "coordinate system"], origin_x: ["原点 X", "origin x"], origin_y: ["原点 Y", "origin y"],
  origin_z: ["原点 Z", "origin z"], running: ["运行", "running"], hazard: ["灾害类型", "hazard"],
  fault: ["断层", "fault"], strike_deg: ["走向", "strike"], dip_deg: ["倾角", "dip"], throw_m: ["落差", "throw"],
  working: ["采掘工作面", "working"], ahead_m: ["预测距离", "ahead"], interval_m: ["等高距", "interval"],
  lowest_m: ["最低标高", "lowest"], highest_m: ["最高标高", "highest"], between: ["层位", "between"],
  aquifer: ["含水层", "aquifer"], reason: ["原因", "reason"], since_ms: ["开始时间", "since"], place: ["位置", "place"],
  sealed_since: ["封闭时间", "sealed since"], thickness_m: ["厚度", "thickness"],
  graham_ratio: ["格雷厄姆指数", "Graham ratio"], jones_trickett: ["琼斯-特里克特比", "Jones–Trickett ratio"],
  delta_o2: ["氧亏量", "oxygen deficit"], sample_valid: ["样品有效", "sample valid"],
  combustion_stage_name: ["自然发火判定", "combustion stage"], graham_trend_per_day: ["格雷厄姆指数日变化", "Graham ratio per day"],
  fire_zone: ["火区状态", "fire zone"], fire_zone_why: ["未熄灭原因", "not extinguished because"],
  sealed: ["密闭区", "sealed area"], gases: ["分析气体", "gases analysed"],
  tube_bundle: ["束管测点", "tube-bundle sampling point"],
  support_resistance_kN: ["工作阻力", "working resistance"], support_load_pct: ["阻力占额定", "load of rating"],
  weighting: ["周期来压", "periodic weighting"], weighting_interval_m: ["来压步距", "weighting interval"],
  next_weighting_at_m: ["预计下次来压", "next weighting expected at"], face_pressure_MPa: ["工作面平均压力", "face mean pressure"],
  separation_rate_mm_per_day: ["离层速度", "separation rate"],
};

const WORDS = {
  model: ["型号", "model"], power_kW: ["功率", "power"], voltage_kV: ["电压", "voltage"], speed_m_s: ["速度", "speed"],
  speed_m_min: ["速度", "speed"], width_m: ["宽度", "width"], length_m: ["长度", "length"], flow_m3_h: ["流量", "flow"],
  flow_m3_min: ["流量", "flow"], head_m: ["扬程", "head"], pressure_MPa: ["压力", "pressure"], pressure_Pa: ["风压", "pressure"],
  air_m3_min: ["风量", "air quantity"], cutting_height_m: ["截高", "cutting height"], rope_speed_m_s: ["绳速", "rope speed"],
  rated_resistance_kN: ["额定工作阻力", "rated resistance"], current_A: ["电流", "current"], running: ["运行", "running"],
  pressure: ["压力", "pressure"], position_m: ["位置", "position"], load_pct: ["负载", "load"],
  legs: ["立柱数", "legs"], leg_bore_mm: ["立柱缸径", "leg bore"], leg_pressure_MPa: ["立柱压力", "leg pressure"],
};

/** Limits and window figures by their suffix: `<quantity>_alarm_upper`, `<quantity>_max` … */
const LIMITS = [
  ["_alarm_upper_clear", ["报警解除值", "alarm clears below"]], ["_alarm_lower_clear", ["下限解除值", "low alarm clears above"]],
  ["_alarm_upper", ["报警上限", "upper alarm"]], ["_alarm_lower", ["报警下限", "lower alarm"]],
  ["_power_off_upper", ["断电值", "power off at"]], ["_re_power_upper", ["复电值", "power back below"]],
  // the window figures the mine's monitoring system reports (TJSJ)
  ["_max", ["统计最大值", "window max"]], ["_min", ["统计最小值", "window min"]], ["_mean", ["统计平均值", "window mean"]],
];

const STATES = {
  data_state: { ok: ["正常", "ok"], stale: ["无数据", "no data"], stuck: ["数值不变", "stuck"] },
  air: { forward: ["进风", "intake"], reverse: ["回风", "return"], none: ["无", "none"] },
  area_kind: { key: ["重点区域", "key area"], restricted: ["限制区域", "restricted"], general: ["一般区域", "general"] },
  risk_level: { 0: ["低风险（蓝）", "low (blue)"], 1: ["一般风险（黄）", "general (yellow)"],
    2: ["较大风险（橙）", "major (orange)"], 3: ["重大风险（红）", "grave (red)"] },
};

function pick(pair) { return pair[language().startsWith("en") ? 1 : 0]; }

function words(key) {
  if (WORDS[key]) return pick(WORDS[key]);
  if (QUANTITIES[key]) return pick(QUANTITIES[key]);
  return null;
}

/** A property's name on the screen; null when nothing is known (the caller shows the key). */
export function propName(key) {
  if (NAMES[key]) return pick(NAMES[key]);
  if (QUANTITIES[key]) return pick(QUANTITIES[key]);
  for (const [suffix, name] of LIMITS) {
    if (key.endsWith(suffix)) {
      const q = QUANTITIES[key.slice(0, -suffix.length)];
      if (q) return language().startsWith("en") ? `${pick(q)} ${pick(name)}` : `${pick(q)}${pick(name)}`;
    }
  }
  const m = /^(param|live)_(.+)$/.exec(key);
  if (m) {
    const w = words(m[2]);
    const head = m[1] === "live" ? ["实时", "live"] : ["参数", "rated"];
    if (w) return language().startsWith("en") ? `${pick(head)} ${w}` : `${pick(head)}·${w}`;
  }
  return null;
}

/** A property's value in words where a code or state stands for one. */
export function propValue(key, v, replica) {
  if (typeof v === "boolean" && SWITCH_STATES[key]) return pick(SWITCH_STATES[key])[v ? 1 : 0];
  if (typeof v === "boolean") return pick(v ? ["是", "yes"] : ["否", "no"]);
  if (STATES[key]?.[v]) return pick(STATES[key][v]);
  if (key === "quantity" && QUANTITIES[v]) return pick(QUANTITIES[v]);
  if (key === "area" && typeof v === "string" && replica) {
    const a = replica.node(`area/${v}`);
    if (a?.name) return `${a.name} (${v})`;
  }
  if (key === "roadway" && typeof v === "string" && replica) {
    const r = replica.node(`roadway/${v}`);
    if (r?.name) return r.name;
  }
  return null;
}
