/**
 * The FCM double in a process of its own, so a benchmark's API process does not pay for the
 * push service's TLS and JSON work. Reads the service account's public key (PEM) and the TLS
 * material from stdin as JSON, prints `{"baseUrl", "tokenUri"}` on one line once listening, then
 * answers line commands on stdin: `delay <ms>` (answer every message after <ms>), `count`
 * (prints the number of messages received so far).
 */
import { createPublicKey } from 'node:crypto';
import { createInterface } from 'node:readline';
import { FcmDouble } from '../../../apps/api/test/support/fcm-double.ts';

const lines = createInterface({ input: process.stdin });
let double: FcmDouble | undefined;
for await (const line of lines) {
  if (!double) {
    const setup = JSON.parse(line) as {
      publicKey: string;
      tls: { ca: string; key: string; cert: string };
      email: string;
      project: string;
    };
    double = await FcmDouble.start({
      tls: setup.tls,
      publicKey: createPublicKey(setup.publicKey),
      clientEmail: setup.email,
      projectId: setup.project,
    });
    console.log(JSON.stringify({ baseUrl: double.baseUrl, tokenUri: double.tokenUri }));
    continue;
  }
  const [command, argument] = line.split(' ');
  if (command === 'delay') {
    double.answerDelayMs = Number(argument);
    console.log('ok');
  } else if (command === 'count') {
    console.log(String(double.messages.length));
  }
}
await double?.stop();
