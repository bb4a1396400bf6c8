import Fluent
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Testing
import Vapor
@testable import Plataforma

/// Runs `body` with a second app over `first`'s database, configured with other variables.
private func withReplica<T: Sendable>(of first: TestApp, _ environment: [String: String],
                                      _ body: (Application) async throws -> T) async throws -> T {
    var settings = first.app.settings
    let other = try Settings.load(from: ["APP_ENV": "testing", "DATA_DIR": first.dataDir].merging(environment) { $1 })
    settings.secretKey = other.secretKey
    settings.secretKeyFile = other.secretKeyFile
    settings.fieldEncryptionKey = other.fieldEncryptionKey
    let app = try await Application.make(.testing)
    do {
        app.logger.logLevel = .critical
        try await configure(app, settings: settings)
        let result = try await body(app)
        try await app.asyncShutdown()
        return result
    } catch {
        try? await app.asyncShutdown()
        throw error
    }
}

private let keyA = Data(repeating: 7, count: 32).base64EncodedString()
private let keyB = Data(repeating: 9, count: 32).base64EncodedString()

@Suite("Field-encryption keys are checked at start")
struct FieldKeyCheckTests {
    @Test("a replica whose key does not open the stored data refuses to start, naming the key id, the variables and rotate-keys")
    func wrongKeyRefused() async throws {
        try await withApp(["FIELD_ENCRYPTION_KEY": keyA]) { t in
            try await t.makeMentor(telefono: "600111222")
            let stored = try FieldCipher(configured: keyA, secretKey: testSecretKey).keyIDs[0]
            let error = try await withReplica(of: t, ["SECRET_KEY": testSecretKey, "FIELD_ENCRYPTION_KEY": keyB]) { replica in
                await #expect(throws: FieldKeyCheck.Mismatch.self) { try await Plataforma.prepare(replica, command: "serve") }
                return try await mismatch { try await Plataforma.prepare(replica, command: "serve") }
            }
            #expect(error.findings == [.init(column: "mentores.telefono_cifrado", keyID: stored, values: 1, undecryptable: false)])
            #expect(error.missingKeyIDs == [stored])
            for words in [stored, "FIELD_ENCRYPTION_KEY", "SECRET_KEY", "DJANGO_SECRET_KEY", "rotate-keys", "$DATA_DIR/secret_key"] {
                #expect(error.description.contains(words), "\(words) missing from: \(error.description)")
            }
            // Nor does the key leak into the message.
            #expect(!error.description.contains(keyA) && !error.description.contains(keyB))
            // Every other command that reads data refuses too; `migrate` may run.
            try await withReplica(of: t, ["SECRET_KEY": testSecretKey, "FIELD_ENCRYPTION_KEY": keyB]) { replica in
                for command in ["seed-demo", "createsuperuser", "rotate-keys", "rebuild-metricas"] {
                    await #expect(throws: FieldKeyCheck.Mismatch.self) { try await Plataforma.prepare(replica, command: command) }
                }
                try await Plataforma.prepare(replica, command: "migrate")
            }
        }
    }

    @Test("a replica with another secret key (and no FIELD_ENCRYPTION_KEY) refuses to start too")
    func otherSecretRefused() async throws {
        try await withApp { t in
            try await t.makeMentor(telefono: "600111222")
            let otherSecret = String(repeating: "otra-clave-secreta-", count: 4)
            let error = try await withReplica(of: t, ["SECRET_KEY": otherSecret]) { replica in
                try await mismatch { try await Plataforma.prepare(replica, command: "serve") }
            }
            #expect(error.keysFromSecret)
            #expect(error.missingKeyIDs == [t.app.fieldCipher.keyIDs[0]])
            #expect(error.description.contains("derived from the secret key"))
        }
    }

    @Test("rotation: the new key listed first with the old one starts; after rotate-keys the new key alone starts")
    func rotation() async throws {
        try await withApp(["FIELD_ENCRYPTION_KEY": keyA]) { t in
            try await t.makeMentor(telefono: "600111222")
            try await withReplica(of: t, ["SECRET_KEY": testSecretKey, "FIELD_ENCRYPTION_KEY": "\(keyB),\(keyA)"]) { replica in
                try await Plataforma.prepare(replica, command: "serve")
                #expect(try await RotateKeysCommand.rotate(on: replica.db, cipher: replica.fieldCipher).map(\.1) == [1, 0])
            }
            try await withReplica(of: t, ["SECRET_KEY": testSecretKey, "FIELD_ENCRYPTION_KEY": keyB]) { replica in
                try await Plataforma.prepare(replica, command: "serve")
                let (_, token) = try await TestApp(app: replica, dataDir: t.dataDir).userWithToken(.admin)
                let list = try await TestApp(app: replica, dataDir: t.dataDir).send(.GET, "/api/mentores/", token: token)
                #expect(list.status == .ok)
                #expect(list.json["results"][0]["telefono"] == "600111222")
            }
        }
    }

    @Test("a corrupted value and a value stored in clear are named too")
    func corruptedValues() async throws {
        try await withApp(["FIELD_ENCRYPTION_KEY": keyA]) { t in
            let corrupted = try await t.makeMentor(telefono: "600111222")
            let plain = try await t.makeMentor()
            let sql = try #require(t.db as? any SQLDatabase)
            let id = t.app.fieldCipher.keyIDs[0]
            let forged = "enc:v1:\(id):" + Data(repeating: 1, count: 40).base64EncodedString()
            try await sql.raw("UPDATE mentores SET telefono_cifrado = \(bind: forged) WHERE id = \(bind: try corrupted.requireID())").run()
            try await sql.raw("UPDATE mentores SET documento_cifrado = '12345678Z' WHERE id = \(bind: try plain.requireID())").run()
            let error = try await mismatch { try await Plataforma.prepare(t.app, command: "serve") }
            #expect(error.findings.contains(.init(column: "mentores.telefono_cifrado", keyID: id, values: 1, undecryptable: true)))
            #expect(error.findings.contains(.init(column: "mentores.documento_cifrado", keyID: nil, values: 1, undecryptable: false)))
            #expect(error.missingKeyIDs.isEmpty)
        }
    }

    @Test("FIELD_ENCRYPTION_KEY that is truncated, not base64 or the wrong length stops the start, naming the variable")
    func malformedKeys() throws {
        let short = Data(repeating: 7, count: 16).base64EncodedString()
        for bad in [short, "no es base64!", String(keyA.dropLast(4)), "\(keyA),\(short)", "\(keyA),no-base64"] {
            #expect(throws: ConfigurationError.self) {
                try Settings.load(from: ["APP_ENV": "testing", "SECRET_KEY": testSecretKey, "FIELD_ENCRYPTION_KEY": bad,
                                         "DATA_DIR": FileManager.default.temporaryDirectory.path])
            }
            do {
                _ = try Settings.load(from: ["APP_ENV": "testing", "SECRET_KEY": testSecretKey, "FIELD_ENCRYPTION_KEY": bad,
                                             "DATA_DIR": FileManager.default.temporaryDirectory.path])
            } catch let error as ConfigurationError {
                #expect(error.problems.count == 1 && error.problems[0].hasPrefix("FIELD_ENCRYPTION_KEY:"))
                #expect(!error.description.contains(keyA))
            }
        }
    }

    private func mismatch(_ body: () async throws -> Void) async throws -> FieldKeyCheck.Mismatch {
        do {
            try await body()
        } catch let error as FieldKeyCheck.Mismatch {
            return error
        }
        throw TestFailure("the start was not refused")
    }
}

/// The executable's start (`Plataforma.run`, what `main` runs before `exit`), as an operator meets it.
@Suite("Starting the server")
struct StartTests {
    /// Runs a command in-process; returns its exit status and what it reported.
    private func run(_ arguments: [String], _ environment: [String: String]) async -> (status: Int32, output: String) {
        let output = NIOLockedValueBox("")
        let status = await Plataforma.run(arguments: ["plataforma"] + arguments,
                                          environment: environment.merging(["LOG_LEVEL": "warning"]) { $1 },
                                          report: { line in output.withLockedValue { $0 += line + "\n" } })
        return (status, output.withLockedValue { $0 })
    }

    @Test("seed-demo with one DATA_DIR, serve with another: exit 78 and the reason, not a server that answers 500")
    func mismatchedDataDir() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let database = "sqlite://\(root)/db.sqlite3"
        let seeded = await run(["seed-demo", "--mentores", "3", "--proyectos", "1", "--registros", "2"],
                               ["DATA_DIR": "\(root)/a", "DATABASE_URL": database])
        #expect(seeded.status == 0, "\(seeded.output)")
        let refused = await run(["serve", "--port", "0"], ["DATA_DIR": "\(root)/b", "DATABASE_URL": database])
        #expect(refused.status == 78)
        #expect(refused.output.contains("which is not configured"))
        #expect(refused.output.contains("rotate-keys"))
        // The data's own directory (with its kept secret) passes the check, and `serve` warns that
        // the secret file holds the keys of the encrypted fields.
        LogCapture.install()
        let settings = try Settings.load(from: ["DATA_DIR": "\(root)/a", "DATABASE_URL": database])
        let app = try await Application.make(.testing)
        do {
            try await configure(app, settings: settings)
            try await Plataforma.prepare(app, command: "serve")
            #expect(!LogCapture.shared.records {
                $0.level == .warning && $0.message.contains("\(root)/a/secret_key") && $0.message.contains("mentores.telefono_cifrado")
            }.isEmpty)
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }

    @Test("a malformed FIELD_ENCRYPTION_KEY: exit 78 naming the variable, never echoing the value")
    func malformedKeyExit() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let bad = Data(repeating: 5, count: 16).base64EncodedString()
        let result = await run(["serve", "--port", "0"], ["DATA_DIR": root, "FIELD_ENCRYPTION_KEY": bad])
        #expect(result.status == 78)
        #expect(result.output.contains("FIELD_ENCRYPTION_KEY"))
        #expect(!result.output.contains(bad))
    }
}
