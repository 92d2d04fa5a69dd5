// #19: what makes the screen readable, without a browser — times in the mine's zone, numbers
// as dispatchers read them, property names in words, alarms as they stood in a replay, the
// replay's time ticks and the KPI strip's gas per district.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fmtTime, setTimeZone } from "../src/clock.js";
import { propName, propValue, setQuantities } from "../src/props.js";
import { Replica } from "../src/replica.js";
import { setLanguage } from "../src/strings.js";
import { AlarmPanel } from "../src/ui/alarms.js";
import { fmt, fmtReading } from "../src/ui/dom.js";
import { maxCh4ByArea } from "../src/ui/kpi.js";
import { timeTicks } from "../src/ui/replay.js";

test("times are the mine's, 24-hour, ISO order — not this PC's zone", () => {
  setTimeZone("Asia/Shanghai");
  const ms = Date.UTC(2026, 11, 1, 16, 15, 30);          // 00:15:30 the next day in Beijing
  assert.equal(fmtTime(ms), "2026-12-02 00:15:30");
  assert.equal(fmtTime(ms, { date: false, seconds: false }), "00:15");
  setTimeZone("Not/AZone");                               // a bad zone keeps the last good one
  assert.equal(fmtTime(ms, { date: false }), "00:15:30");
  assert.equal(fmtTime(null), "—");
});

test("readings to their precision; whole numbers as they are", () => {
  assert.equal(fmtReading(4), "4.00");
  assert.equal(fmtReading(0.456), "0.46");
  assert.equal(fmtReading(25.44), "25.4");
  assert.equal(fmtReading(150.2), "150");
  assert.equal(fmt(8), "8");
  assert.equal(fmt(1.5), "1.50");
  assert.equal(fmtReading(NaN), "—");
});

test("every property of the demo's nodes has a name, in Chinese and English", () => {
  // (the quantities' names come from the server's code table, GET /api/quantities)
  setQuantities({ ch4: { zh: "甲烷", en: "CH4" }, co: { zh: "一氧化碳", en: "CO" },
    o2: { zh: "氧气", en: "O2" } });
  const keys = ["point_code", "ch4_alarm_upper", "ch4_power_off_upper", "o2_alarm_lower_clear",
    "param_power_kW", "live_current_A", "live_running", "area", "rated_headcount", "data_state",
    "caved_zone_height_m", "roadway_type_name", "special_worker", "co"];
  setLanguage("zh-CN");
  for (const k of keys) assert.match(propName(k) ?? "", /[\u4e00-\u9fff]/, k);
  assert.equal(propName("ch4_alarm_upper"), "甲烷报警上限");
  assert.equal(propName("param_power_kW"), "参数·功率");
  setLanguage("en");
  assert.equal(propName("ch4_power_off_upper"), "CH4 power off at");
  assert.equal(propValue("data_state", "stale"), "no data");
  setLanguage("zh-CN");
  assert.equal(propValue("underground", true), "是");
  const r = new Replica();
  r.nodes.set(1, { handle: 1, id: "area/5205", name: "11901综采工作面", tags: ["area"], props: new Map(), kids: [], parent: 0 });
  r.byId.set("area/5205", 1);
  assert.equal(propValue("area", "5205", r), "11901综采工作面 (5205)");
  assert.equal(propName("no_such_key"), null);
});

test("in a replay the alarm list is the alarms as they stood at the replay's time", () => {
  const alarms = [
    { id: 1, raised_ms: 1000, cleared_ms: 5000, acked_ms: 3000, acked_by: "张三", comment: "x" },
    { id: 2, raised_ms: 4000, cleared_ms: null, acked_ms: null },
    { id: 3, raised_ms: 9000, cleared_ms: null, acked_ms: null },
  ];
  const at = AlarmPanel.asAt(alarms, 2000);
  assert.deepEqual(at.map((a) => a.id), [1]);
  assert.equal(at[0].cleared_ms, null);               // it cleared later: not yet
  assert.equal(at[0].acked_ms, null);                 // nor acknowledged
  assert.equal(at[0].acked_by, null);
  const later = AlarmPanel.asAt(alarms, 6000);
  assert.deepEqual(later.map((a) => [a.id, a.cleared_ms, a.acked_by]), [[1, 5000, "张三"], [2, null, undefined]]);
  assert.equal(alarms[0].cleared_ms, 5000);           // the records themselves untouched
});

test("the replay's time ticks are round times across the span", () => {
  const t0 = Date.UTC(2026, 11, 2, 0, 3, 10);
  const ticks = timeTicks(t0, t0 + 47 * 60e3);
  assert.ok(ticks.length >= 3 && ticks.length <= 6, ticks);
  assert.ok(ticks.every((x) => x % 600e3 === 0 && x >= t0 && x <= t0 + 47 * 60e3));
});

test("the KPI strip's highest CH4 per district, a face's point by its nearest reader", () => {
  const r = new Replica();
  const add = (h, id, tags, props, t = [0, 0, 0]) => {
    r.nodes.set(h, { handle: h, id, name: id, tags, props: new Map(Object.entries(props)), kids: [], parent: 0, t });
    r.byId.set(id, h);
  };
  add(1, "sensor/A", ["sensor"], { quantity: "ch4", ch4: 0.4, roadway: "r1", ch4_alarm_upper: 1.0 });
  add(2, "sensor/B", ["sensor"], { quantity: "ch4", ch4: 0.9, roadway: "r1", ch4_alarm_upper: 1.0 });
  add(3, "sensor/C", ["sensor"], { quantity: "ch4", ch4: 1.6, ch4_alarm_upper: 1.0 }, [100, 0, 0]);
  add(4, "reader/X", ["reader"], { area: "face" }, [105, 0, 0]);
  add(5, "reader/Y", ["reader"], { area: "main" }, [-500, 0, 0]);
  // a tube-bundle sample of the goaf behind the face (5 %) is not the district's air
  add(6, "sensor/T", ["sensor"], { quantity: "ch4", ch4: 5.0, roadway: "r1", tube_bundle: "TB01" });
  const by = maxCh4ByArea(r, { areas: [{ code: "main", roadways: ["r1"] }] });
  assert.deepEqual([...by].map(([k, v]) => [k, v.value, v.level]).sort(),
    [["face", 1.6, "alarm"], ["main", 0.9, "warning"]]);
});

test("a switch point's value reads as its state, from the server's code table", () => {
  setQuantities({ air_door: { zh: "风门", en: "air door", kind: "switch", states: ["关", "开"], states_en: ["closed", "open"] },
    feed: { zh: "馈电器", en: "feeder", kind: "switch", states: ["无电", "有电"], states_en: ["no voltage", "voltage"] } });
  setLanguage("zh-CN");
  assert.equal(propName("air_door"), "风门");
  assert.equal(propValue("air_door", true), "开");
  assert.equal(propValue("feed", false), "无电");
  setLanguage("en");
  assert.equal(propValue("air_door", false), "closed");
  assert.equal(propName("feed"), "feeder");
  assert.equal(propValue("underground", true), "yes");          // not a switch: yes / no
  setLanguage("zh-CN");
});
