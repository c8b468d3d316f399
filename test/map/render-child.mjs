// Renders a map with a title and µV ticks to the PNG named by argv[2]; run by
// render.test.ts in a child process whose environment has no fonts at all.
import { writeFileSync } from "node:fs";
import { plotGlass } from "../../dist/map/index.js";

const fig = await plotGlass([[-37, -21, 58], [-30, -10, 62]], [800, 300], { title: "Motor map µV ÄÖÜ", displayMode: "yz" });
writeFileSync(process.argv[2], await fig.toBuffer());

