import Fluent
import Foundation
import Logging
import NIOCore
import NIOPosix
import Vapor

/// The executable's entry: reads settings, sets up logging, builds the app and runs its command.
public enum Plataforma {
    public static func main() async {
        // Async code runs on the event loops that serve the connections, instead of hopping to
        // Swift's cooperative pool and back on every await (as Vapor's template does). Blocking
        // work (password hashing) stays on `app.threadPool`.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let variables: [String: String]
        do {
            variables = try Settings.processEnvironment()
        } catch {
            FileHandle.standardError.write(Data("Error: could not read .env: \(error)\n".utf8))
            exit(1)
        }
        let status = await run(arguments: CommandLine.arguments, environment: variables, bootstrapLogging: true)
        LogWriter.standardOutput.flush()
        exit(status)
    }

    /// Runs one command (`serve` when none is named) and returns the exit status: 0; 1 when the
    /// command failed; 78 (EX_CONFIG) when the configuration is invalid or its field-encryption
    /// keys cannot open the stored data. What went wrong goes to `report` (standard error).
    public static func run(arguments: [String], environment variables: [String: String], bootstrapLogging: Bool = false,
                           report: @Sendable (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) async -> Int32 {
        let settings: Settings
        do {
            settings = try Settings.load(from: variables)
        } catch {
            report("\(error)")
            return 78
        }
        let environment: Environment
        do {
            var detected = try Environment.detect(arguments: arguments)
            if settings.isProduction { detected = Environment(name: Environment.production.name, arguments: detected.arguments) }
            environment = detected
        } catch {
            report("Error: \(error)")
            return 1
        }
        if bootstrapLogging {
            LoggingSystem.bootstrap { label in
                switch settings.logFormat {
                case .json: JSONLogHandler(label: label, level: settings.logLevel)
                case .text:
                    {
                        var handler = StreamLogHandler.standardOutput(label: label)
                        handler.logLevel = settings.logLevel
                        return handler
                    }()
                }
            }
        }
        let app: Application
        do {
            app = try await Application.make(environment)
        } catch {
            report("Error: \(error)")
            return 1
        }
        do {
            try await configure(app, settings: settings)
            try await prepare(app, command: environment.arguments.dropFirst().first)
            try await app.execute()
            // A signal ends `execute` with the server still accepting. Stop it first, then let the
            // requests it still holds finish: `asyncShutdown` closes its services in no set order,
            // and a request reaching a closed database traps inside Fluent.
            await app.server.shutdown()
            let left = await app.inFlightRequests.drain(timeout: .seconds(15))
            if left > 0 { app.logger.warning("stopping with requests still in flight", metadata: ["requests": "\(left)"]) }
        } catch let mismatch as FieldKeyCheck.Mismatch {
            try? await app.asyncShutdown()
            report(mismatch.description)
            return 78
        } catch {
            try? await app.asyncShutdown()
            // A command's failure is a message and an exit code, not a crash report.
            report("Error: \(error)")
            return 1
        }
        do {
            try await app.asyncShutdown()
        } catch {
            report("Error: \(error)")
            return 1
        }
        return 0
    }

    /// What a command needs before it runs: the embedded database migrated and field-encryption
    /// keys that open the stored data (every command that touches the database but `migrate`).
    public static func prepare(_ app: Application, command: String?) async throws {
        let command = command.flatMap { $0.hasPrefix("-") && $0 != "--help" && $0 != "-h" ? nil : $0 } ?? "serve"
        guard !["routes", "--help", "-h", "help"].contains(command) else { return }
        // `migrate` migrates (or reverts) by itself, and must be able to run first on any keys.
        guard command != "migrate" else { return }
        let settings = app.settings
        if settings.database.isSQLite {
            try await app.autoMigrate()
            try await prepareDatabase(app)
        }
        try await FieldKeyCheck.verify(on: app.db, cipher: app.fieldCipher, keysFromSecret: settings.fieldEncryptionKey == nil)
        if command == "serve", settings.databaseHoldTimeout > 0 {
            app.postgresPool?.setHoldTimeout(.seconds(Int64(settings.databaseHoldTimeout)))
        }
        if command == "serve", settings.fieldEncryptionKey == nil, let file = settings.secretKeyFile {
            let columns = EncryptedColumns.all.map { "\($0.table).\($0.column)" }.joined(separator: ", ")
            app.logger.warning("""
                encrypted fields use a key derived from the development secret in \(file): losing or replacing that file \
                loses what they hold (\(columns)); set SECRET_KEY and FIELD_ENCRYPTION_KEY to keep them
                """)
        }
    }
}
