import assert from "node:assert/strict";
import { test } from "node:test";
import { headcounts, layersOf, search } from "../src/ui/panels.js";
import { parseWall } from "../src/ui/wall.js";
import { Replica } from "../src/replica.js";
import { age, setLanguage, t } from "../src/strings.js";

function replica(nodes) {
  const r = new Replica();
  nodes.forEach(([id, tags, props = {}], i) => {
    r.nodes.set(i + 1, { handle: i + 1, id, name: props.name ?? "", tags, props: new Map(Object.entries(props)), kids: [], parent: 0 });
    r.byId.set(id, i + 1);
  });
  return r;
}

test("layers come from the tags present; hazards, seams and strata one per kind", () => {
  const r = replica([["roadway/1", ["roadway", "roadway:main"]], ["hazard/g", ["hazard", "hazard:goaf"]],
    ["seam/M9", ["seam", "seam:M9"]], ["person/1", ["person"]], ["person/2", ["person", "person:leader"]]]);
  assert.deepEqual(layersOf(r), [["roadway", 1], ["seam:M9", 1], ["hazard:goaf", 1], ["person", 2]]);
});

test("search finds sensor codes, locations, names and cards", () => {
  const r = replica([["sensor/002A02", ["sensor"], { point_code: "002A02", location: "11901工作面" }],
    ["person/5205", ["person"], { name: "王伟", card: "5205" }], ["group/people", ["group"], { name: "人员" }]]);
  assert.deepEqual(search(r, "002a").map((n) => n.id), ["sensor/002A02"]);
  assert.deepEqual(search(r, "11901").map((n) => n.id), ["sensor/002A02"]);
  assert.deepEqual(search(r, "王伟").map((n) => n.id), ["person/5205"]);
  assert.deepEqual(search(r, "人员"), []);                  // group nodes are not results
});

test("headcounts count people underground by area", () => {
  const r = replica([["person/1", ["person"], { underground: true, area: "A1" }],
    ["person/2", ["person"], { underground: true, area: "A1" }], ["person/3", ["person"], { underground: false, area: "A1" }],
    ["person/4", ["person"], { underground: true, area: "A2" }]]);
  assert.deepEqual([...headcounts(r)], [["A1", 2], ["A2", 1]]);
});

test("wall parameters", () => {
  assert.deepEqual(parseWall("?wall=w1&grid=3x2&tile=2,1"), { group: "w1", cols: 3, rows: 2, x: 2, y: 1 });
  assert.equal(parseWall("?lang=en"), null);
  assert.throws(() => parseWall("?wall=w1&grid=3x2&tile=3,0"), /outside/);
  assert.throws(() => parseWall("?wall=w1&grid=three"), /grid/);
});

test("strings: Chinese by default, English on request, placeholders filled", () => {
  assert.equal(t("panel.alarms"), "报警");
  setLanguage("en");
  assert.equal(t("status.revision", { rev: 7 }), "rev 7");
  assert.equal(age(90_000), "90 s");
  setLanguage("zh-CN");
  assert.equal(age(3 * 3600_000), "3 小时");
});
