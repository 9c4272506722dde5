/** A free TCP port on this host: the OS's pick of an ephemeral one, released before it is returned. */
import { createServer } from "node:net";

/** A port nobody listens on now (another process may take it before the caller binds it). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
