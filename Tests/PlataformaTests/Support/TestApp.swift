import AsyncHTTPClient
import Fluent
import Foundation
import NIOCore
import NIOHTTP1
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

/// The database the suite runs against: PostgreSQL when `TEST_DATABASE_URL` (or `DATABASE_URL`)
/// names one, else a fresh SQLite file per test.
enum TestDatabase {
    static var postgresURL: String? {
        let environment = ProcessInfo.processInfo.environment
        for name in ["TEST_DATABASE_URL", "DATABASE_URL"] {
            if let url = environment[name], url.hasPrefix("postgres") { return url }
        }
        return nil
    }

    static var isPostgres: Bool { postgresURL != nil }
}

/// A 64-character key used by every test app (never a real secret).
let testSecretKey = String(repeating: "clave-de-pruebas-", count: 4)

/// One application under test, reached over real HTTP on a loopback port through VaporTesting.
final class TestApp: Sendable {
    let app: Application
    let dataDir: String

    init(app: Application, dataDir: String) {
        self.app = app
        self.dataDir = dataDir
    }

    var db: any Database { app.db }
    var tokens: TokenService { app.storage[TokenServiceKey.self]! }

    /// Sends one request through Vapor's server (VaporTesting's running mode, port 0).
    @discardableResult
    func send(
        _ method: HTTPMethod, _ path: String, token: String? = nil, json: JSONValue? = nil,
        body: String? = nil, headers: HTTPHeaders = [:]
    ) async throws -> TestingHTTPResponse {
        var headers = headers
        if let token { headers.replaceOrAdd(name: .authorization, value: "Bearer \(token)") }
        var buffer: ByteBuffer?
        if let json {
            buffer = ByteBuffer(data: try JSONEncoder().encode(json))
            if !headers.contains(name: .contentType) { headers.replaceOrAdd(name: .contentType, value: "application/json") }
        } else if let body {
            buffer = ByteBuffer(string: body)
        }
        return try await app.testing(method: .running(hostname: "127.0.0.1", port: 0))
            .sendRequest(method, path, headers: headers, body: buffer)
    }
}

/// Runs `body` against a freshly migrated app; `overrides` are environment variables.
func withApp(_ overrides: [String: String] = [:], _ body: (TestApp) async throws -> Void) async throws {
    let dataDir = FileManager.default.temporaryDirectory
        .appendingPathComponent("plataforma-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
    var environment: [String: String] = [
        "APP_ENV": "testing", "SECRET_KEY": testSecretKey, "DATA_DIR": dataDir, "LOG_LEVEL": "warning",
        "DATABASE_POOL_SIZE": "2",
        // Two connections per app and the whole suite at once on two cores: waits are long, not failures.
        "DATABASE_POOL_TIMEOUT": "120",
    ]
    let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
    if let url = TestDatabase.postgresURL { environment["DATABASE_URL"] = url }
    // With TEST_REDIS_URL (CI's PostgreSQL pass) every test runs with Redis, under its own key prefix.
    if let url = TestRedis.configuredURL {
        environment["REDIS_URL"] = url
        environment["REDIS_PREFIX"] = TestRedis.prefix()
    }
    for (key, value) in overrides { environment[key] = value }
    var settings = try Settings.load(from: environment)
    // Every PostgreSQL test app (through a `PostgresProxy` too) gets a schema of its own.
    if TestDatabase.isPostgres, case .postgres(let url, nil) = settings.database {
        settings.database = .postgres(url: url, searchPath: [schema])
    }

    let app = try await Application.make(.testing)
    do {
        app.logger.logLevel = .warning
        try await configure(app, settings: settings)
        if case .postgres(_, .some) = settings.database, let sql = app.db as? any SQLDatabase {
            try await sql.raw("CREATE SCHEMA IF NOT EXISTS \(ident: schema)").run()
        }
        try await app.autoMigrate()
        try await prepareDatabase(app)
        try await body(TestApp(app: app, dataDir: dataDir))
    } catch {
        await cleanUp(app: app, settings: settings, schema: schema, dataDir: dataDir)
        throw error
    }
    await cleanUp(app: app, settings: settings, schema: schema, dataDir: dataDir)
}

/// A second application over the first one's database, sharing nothing in memory with it.
func withSecondApp<T: Sendable>(sharing first: TestApp, _ body: (TestApp) async throws -> T) async throws -> T {
    let app = try await Application.make(.testing)
    do {
        app.logger.logLevel = .warning
        try await configure(app, settings: first.app.settings)
        let result = try await body(TestApp(app: app, dataDir: first.dataDir))
        try await app.asyncShutdown()
        return result
    } catch {
        try? await app.asyncShutdown()
        throw error
    }
}

private func cleanUp(app: Application, settings: Settings, schema: String, dataDir: String) async {
    if case .postgres(_, .some) = settings.database, let sql = app.db as? any SQLDatabase {
        try? await sql.raw("DROP SCHEMA IF EXISTS \(ident: schema) CASCADE").run()
    }
    try? await app.asyncShutdown()
    try? FileManager.default.removeItem(atPath: dataDir)
}

extension TestingHTTPResponse {
    /// The body as JSON (`.null` when empty or not JSON).
    var json: JSONValue {
        guard body.readableBytes > 0,
              let value = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)) else { return .null }
        return value
    }

    /// The response's `Set-Cookie` values by name.
    var cookies: [String: HTTPCookies.Value] {
        headers.setCookie?.all ?? [:]
    }
}

extension JSONValue {
    subscript(key: String) -> JSONValue {
        if case .object(let object) = self { return object[key] ?? .null }
        return .null
    }

    subscript(index: Int) -> JSONValue {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return .null
    }

    var string: String? { if case .string(let value) = self { value } else { nil } }
    var int: Int? { if case .int(let value) = self { Int(value) } else { nil } }
    /// Any JSON number as a Double (`7` and `7.0` alike).
    var number: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    var array: [JSONValue] { if case .array(let value) = self { value } else { [] } }
    var objectKeys: Set<String> { if case .object(let value) = self { Set(value.keys) } else { [] } }
    var isNull: Bool { self == .null }
}

extension JSONValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

/// Real concurrent HTTP: starts the app's server on a loopback port and fires requests at once.
extension TestApp {
    struct RawResponse: Sendable {
        let status: HTTPResponseStatus
        let headers: HTTPHeaders
        let body: JSONValue
    }

    func concurrently(_ count: Int, _ method: HTTPMethod, _ path: String, token: String? = nil,
                      json: @escaping @Sendable (Int) -> JSONValue?) async throws -> [RawResponse] {
        try await concurrentlyWithHeaders(count, method, path, token: token, headers: [:], json: json)
    }

    func concurrentlyWithHeaders(_ count: Int, _ method: HTTPMethod, _ path: String, token: String? = nil, headers: HTTPHeaders,
                                 json: @escaping @Sendable (Int) -> JSONValue?) async throws -> [RawResponse] {
        try await concurrently(count, method, paths: { _ in path }, token: token, headers: headers, json: json)
    }

    /// `count` requests at once, the i-th to `paths(i)`.
    func concurrently(_ count: Int, _ method: HTTPMethod, paths: @escaping @Sendable (Int) -> String, token: String? = nil,
                      headers: HTTPHeaders = [:], json: @escaping @Sendable (Int) -> JSONValue? = { _ in nil }) async throws -> [RawResponse] {
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        // One connection per request, so they really are simultaneous (the default pool keeps 8 per host).
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, count))
        configuration.timeout = .init(connect: .seconds(60))
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        do {
            guard let port = app.http.server.shared.localAddress?.port else { throw Abort(.internalServerError) }
            let responses = try await withThrowingTaskGroup(of: RawResponse.self) { group in
                for index in 0..<count {
                    group.addTask {
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(paths(index))")
                        request.method = method
                        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
                        request.headers.add(contentsOf: headers)
                        if let body = json(index) {
                            request.headers.add(name: "Content-Type", value: "application/json")
                            request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
                        }
                        let response = try await client.execute(request, timeout: .seconds(60))
                        let bytes = try await response.body.collect(upTo: 1 << 20)
                        let value = (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes.readableBytesView))) ?? .null
                        return RawResponse(status: response.status, headers: response.headers, body: value)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            try await client.shutdown()
            await app.server.shutdown()
            return responses
        } catch {
            try? await client.shutdown()
            await app.server.shutdown()
            throw error
        }
    }
}

/// The app's server running on a loopback port for the whole of `body`, with a client that can
/// keep several requests in flight at once (`TestApp.send` starts and stops the server per request).
extension TestApp {
    struct Live: Sendable {
        let port: Int
        let client: HTTPClient

        /// One request; a transport failure (refused, reset, timed out) is thrown.
        func send(_ method: HTTPMethod, _ path: String, token: String? = nil, json: JSONValue? = nil,
                  headers: HTTPHeaders = [:], timeout: TimeAmount = .seconds(60)) async throws -> RawResponse {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
            request.method = method
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            request.headers.add(contentsOf: headers)
            if let json {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(json)))
            }
            let response = try await client.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: 1 << 20)
            let value = (try? JSONDecoder().decode(JSONValue.self, from: Data(bytes.readableBytesView))) ?? .null
            return RawResponse(status: response.status, headers: response.headers, body: value)
        }

        /// `send`, timed.
        func timed(_ method: HTTPMethod, _ path: String, token: String? = nil, json: JSONValue? = nil,
                   headers: HTTPHeaders = [:]) async throws -> (RawResponse, Duration) {
            let started = ContinuousClock.now
            let response = try await send(method, path, token: token, json: json, headers: headers)
            return (response, started.duration(to: .now))
        }
    }

    func live<T: Sendable>(_ body: (Live) async throws -> T) async throws -> T {
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
        configuration.timeout = .init(connect: .seconds(30))
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        do {
            guard let port = app.http.server.shared.localAddress?.port else { throw Abort(.internalServerError) }
            let result = try await body(Live(port: port, client: client))
            try await client.shutdown()
            await app.server.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            await app.server.shutdown()
            throw error
        }
    }
}

/// Polls `condition` every 20 ms for up to `timeout`; true once it holds.
func eventually(timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
