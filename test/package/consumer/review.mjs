// Run inside the sandbox: the review from the installed package's subpath, its page bundle and API.
import { startReview } from "offspect-cachefile/review";

const review = await startReview([process.argv[2]], { port: 0 });
const base = review.url.slice(0, review.url.indexOf("/#"));
const page = await fetch(`${base}/`);
const html = await page.text();
const script = await fetch(`${base}/app.js`);
const files = await (await fetch(`${base}/api/files`, { headers: { Authorization: `Bearer ${review.token}` } })).json();
await review.close();
console.log(JSON.stringify({ url: review.url.replace(/:[0-9]+\/#token=[0-9a-f]{64}$/, ":PORT/#token=TOKEN"), page: page.status, html: html.includes("app.js"), script: script.status, bytes: (await script.arrayBuffer()).byteLength, traces: files.files[0].traces }));
