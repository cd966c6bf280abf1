// A web page's MQTT client: stratus-mqtt/client in the browser, through the Stratus transport
// (base64 in text frames, as API Gateway needs). Bundle it with any bundler, for example:
//   npx esbuild main.js --bundle --format=esm --minify --outfile=bundle.js
import { connect } from 'stratus-mqtt/client';

const form = document.querySelector('form');
const log = document.querySelector('#log');
let client;

function show(line) {
  log.textContent += `${line}\n`;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const data = new FormData(form);
  client?.end(true);
  client = connect(data.get('url'), { protocolVersion: 5, clientId: `web-${crypto.randomUUID().slice(0, 8)}` });
  client.on('connect', async () => {
    show(`connected to ${data.get('url')}`);
    await client.subscribeAsync(data.get('topic'), { qos: 1 });
    await client.publishAsync(data.get('topic'), `hello from ${navigator.userAgent}`, { qos: 1 });
  });
  client.on('message', (topic, payload) => show(`${topic}: ${payload}`));
  client.on('error', (error) => show(`error: ${error.message}`));
});
