import Fluent
import Foundation
import Logging
import NIOCore
import NIOPosix
import Vapor

/// The executable's entry: reads settings, sets up logging, builds the app and runs its command.
public enum Plataforma {
    public static func main() async throws {
        // Async code runs on the event loops that serve the connections, instead of hopping to
        // Swift's cooperative pool and back on every await (as Vapor's template does). Blocking
        // work (password hashing) stays on `app.threadPool`.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let settings: Settings
        do {
            settings = try Settings.load(from: try Settings.processEnvironment())
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            exit(78)  // EX_CONFIG
        }
        var environment = try Environment.detect()
        if settings.isProduction { environment = Environment(name: Environment.production.name, arguments: environment.arguments) }
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
        let app = try await Application.make(environment)
        do {
            try await configure(app, settings: settings)
            let command = environment.arguments.dropFirst().first
            // The embedded default needs nothing else: its schema is brought up to date on start.
            if settings.database.isSQLite, command == nil || command == "serve" || command == "createsuperuser" {
                try await app.autoMigrate()
                try await prepareDatabase(app)
            }
            try await app.execute()
            // A signal ends `execute` with the server still accepting. Stop it first, then let the
            // requests it still holds finish: `asyncShutdown` closes its services in no set order,
            // and a request reaching a closed database traps inside Fluent.
            await app.server.shutdown()
            let left = await app.inFlightRequests.drain(timeout: .seconds(15))
            if left > 0 { app.logger.warning("stopping with requests still in flight", metadata: ["requests": "\(left)"]) }
        } catch {
            try? await app.asyncShutdown()
            // A command's failure is a message and an exit code, not a crash report.
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            exit(1)
        }
        try await app.asyncShutdown()
    }
}
