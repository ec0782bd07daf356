// s3rver (npm, a devDependency) as the tests' and the benchmark's S3-compatible server, on 127.0.0.1
// over a directory, with the buckets asked for. One change to it: its filesystem store writes an
// object's bytes, then its metadata, in place, so a GET or HEAD racing a PUT could see an object
// half written or without its content type; real S3 never shows a partial object (strong
// read-after-write consistency). Here a PUT writes the metadata first, then the bytes to a temporary
// file renamed into place (atomic): the object appears whole, with its metadata, or not at all.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem.js');

let patched = false;
function atomicPuts() {
  if (patched) return;
  patched = true;
  FilesystemStore.prototype.putObject = async function putObject(object) {
    const chunks = [];
    if (Buffer.isBuffer(object.content)) chunks.push(object.content);
    else for await (const c of object.content) chunks.push(c);
    const content = Buffer.concat(chunks);
    const md5 = crypto.createHash('md5').update(content).digest('hex');
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await fs.mkdir(path.dirname(objectPath), { recursive: true });
    await this.putMetadata(object.bucket, object.key, object.metadata, md5);
    const tmp = `${objectPath}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.partial`;
    await fs.writeFile(tmp, content);
    await fs.rename(tmp, objectPath);
    return { size: content.length, md5 };
  };
}

/** Starts s3rver on 127.0.0.1 (port 0: a free one); resolves with its URL, port and close(). */
export async function startS3rver({ directory, buckets, port = 0 }) {
  atomicPuts();
  const server = new S3rver({ port, address: '127.0.0.1', silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
  const addr = await server.run();
  return { url: `http://127.0.0.1:${addr.port}`, port: addr.port, close: () => server.close() };
}
