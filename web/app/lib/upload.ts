// A file sent straight to S3 through a credential's presigned URL. XMLHttpRequest, not fetch:
// only it reports an upload's progress.
import type { Schemas } from "./api/client";

type Upload = NonNullable<Schemas["Credential"]["upload"]>;

/** Sends `file` as `upload` says (its signed headers; the browser sets the length itself);
 * `progress` is called with the share sent, 0 to 1. Resolves with S3's status (0: the
 * request never reached it). */
export function put(upload: Upload, file: Blob, progress: (sent: number) => void): Promise<number> {
  return new Promise((done) => {
    const request = new XMLHttpRequest();
    request.open(upload.method ?? "PUT", upload.url ?? "");
    for (const [name, value] of Object.entries(upload.headers ?? {})) {
      if (name.toLowerCase() !== "content-length") request.setRequestHeader(name, value);
    }
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) progress(event.loaded / event.total);
    };
    request.onload = () => done(request.status);
    request.onerror = () => done(0);
    request.send(file);
  });
}
