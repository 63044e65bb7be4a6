// The MongoDB test bed's server: mongo-java-server (an implementation of the MongoDB wire protocol
// in Java) with its H2 MVStore backend, so data outlives a restart of the process. Run by
// scripts/services/mongodb.sh as a single-file source program:
//   java -cp "$lib/*" MongoTestServer.java PORT STORE_FILE
// It binds 127.0.0.1 only, and reports MongoDB 4.4 (wire version 9): the official Node.js driver
// 7.x refuses servers below wire version 9, and mongo-java-server 1.47.0 reports "5.0.0" with
// wire version 8 by default. On SIGTERM it stops listening and closes the store (a clean MVStore
// commit); a SIGKILL may lose the writes of the last second (MVStore auto-commit delay).

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import java.util.List;

public class MongoTestServer {
  /** What the server says it is in isMaster/buildInfo: MongoDB 4.4.0, wire version 9. */
  static final MongoVersion MONGO_4_4 =
      new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
          return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
          return 9;
        }
      };

  public static void main(String[] args) {
    if (args.length != 2) {
      System.err.println("usage: java -cp 'lib/*' MongoTestServer.java PORT STORE_FILE");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    String store = args[1];
    H2Backend backend = new H2Backend(store);
    backend.version(MONGO_4_4);
    MongoServer server = new MongoServer(backend);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.err.println("MongoTestServer: shutting down");
                  server.shutdown(); // stops listening, closes connections and the backend
                },
                "shutdown"));
    server.bind("127.0.0.1", port);
    System.err.println(
        "MongoTestServer: listening on 127.0.0.1:" + port + ", store " + store
            + ", reporting MongoDB 4.4.0 (wire version 9)");
  }
}
