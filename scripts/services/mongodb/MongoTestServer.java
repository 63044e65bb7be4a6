// The MongoDB test bed's server: mongo-java-server (an implementation of the MongoDB wire protocol
// in Java) with its H2 MVStore backend, so data outlives a restart of the process. Run by
// scripts/services/mongodb.sh as a single-file source program:
//   java -cp "$lib/*" MongoTestServer.java PORT STORE_FILE [--tls KEY_PEM CERT_PEM]
// STORE_FILE ":memory:" keeps everything in memory instead. With --tls it speaks TLS only, with
// the PKCS#8 key (EC or RSA) and the certificate chain of the PEM files (the MongoDB sink's TLS
// test starts one such server of its own). It binds 127.0.0.1 only, and reports MongoDB 4.4 (wire version 9): the official Node.js driver
// 7.x refuses servers below wire version 9, and mongo-java-server 1.47.0 reports "5.0.0" with
// wire version 8 by default. On SIGTERM it stops listening and closes the store (a clean MVStore
// commit); a SIGKILL may lose the writes of the last second (MVStore auto-commit delay).

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
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

  public static void main(String[] args) throws Exception {
    boolean tls = args.length == 5 && args[2].equals("--tls");
    if (args.length != 2 && !tls) {
      System.err.println(
          "usage: java -cp 'lib/*' MongoTestServer.java PORT STORE_FILE [--tls KEY_PEM CERT_PEM]");
      System.exit(2);
    }
    int port = Integer.parseInt(args[0]);
    String store = args[1];
    H2Backend backend = store.equals(":memory:") ? H2Backend.inMemory() : new H2Backend(store);
    backend.version(MONGO_4_4);
    MongoServer server = new MongoServer(backend);
    if (tls) {
      server.enableSsl(readKey(Path.of(args[3])), null, readCerts(Path.of(args[4])));
    }
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
        "MongoTestServer: listening on 127.0.0.1:" + port + (tls ? " (TLS)" : "") + ", store "
            + store + ", reporting MongoDB 4.4.0 (wire version 9)");
  }

  /** The PKCS#8 private key ("BEGIN PRIVATE KEY") of a PEM file, EC or RSA. */
  static PrivateKey readKey(Path file) throws Exception {
    String pem = Files.readString(file);
    String base64 =
        pem.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64));
    try {
      return KeyFactory.getInstance("EC").generatePrivate(spec);
    } catch (Exception notEc) {
      return KeyFactory.getInstance("RSA").generatePrivate(spec);
    }
  }

  /** Every certificate of a PEM file, leaf first. */
  static X509Certificate[] readCerts(Path file) throws Exception {
    try (var in = Files.newInputStream(file)) {
      return CertificateFactory.getInstance("X.509").generateCertificates(in).stream()
          .map(c -> (X509Certificate) c)
          .toArray(X509Certificate[]::new);
    }
  }
}
