import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import PostgresNIO
import SQLKit
@testable import Plataforma

/// A PostgreSQL connection of the test's own, outside the app's pool, in the app's schema (it
/// goes straight to the server, never through a `PostgresProxy`).
func withSideConnection<T: Sendable>(_ t: TestApp, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
    guard let url = TestDatabase.postgresURL, case .postgres(_, let searchPath) = t.app.settings.database else {
        throw TestFailure("withSideConnection needs PostgreSQL")
    }
    let configuration = try SQLPostgresConfiguration(url: url)
    let connection = try await PostgresConnection.connect(
        on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration.coreConfiguration, id: 0,
        logger: Logger(label: "test.side-connection"))
    let sql = connection.sql()
    do {
        if let schema = searchPath?.first { try await sql.raw("SET search_path TO \(ident: schema)").run() }
        let result = try await body(sql)
        try? await PostgresPool.close(connection).get()
        return result
    } catch {
        try? await PostgresPool.close(connection).get()
        throw error
    }
}

/// Runs `body` while the app's write transactions on `mentorID` must wait: on SQLite the process
/// write lock is held, on PostgreSQL the mentor's row (what hour-record writes lock first).
func whileMentorLocked<T: Sendable>(_ t: TestApp, mentorID: Int, _ body: @Sendable () async throws -> T) async throws -> T {
    if let lock = t.app.sqliteWriteLock { return try await lock.withLock { try await body() } }
    return try await withSideConnection(t) { sql in
        try await sql.raw("BEGIN").run()
        try await sql.raw("UPDATE mentores SET activo = activo WHERE id = \(bind: mentorID)").run()
        do {
            let result = try await body()
            try await sql.raw("ROLLBACK").run()
            return result
        } catch {
            try? await sql.raw("ROLLBACK").run()
            throw error
        }
    }
}

/// Whether the app has a request waiting inside a write transaction: on SQLite, for the process
/// write lock (seen as the idempotency claim it holds); on PostgreSQL, a backend of the app
/// (by `application_name`) waiting for a row lock. Returns the waiting backend's pid on PostgreSQL.
func blockedBackend(_ t: TestApp) async throws -> Int? {
    try await withSideConnection(t) { sql in
        try await sql.raw("""
            SELECT pid FROM pg_stat_activity
            WHERE application_name = \(bind: t.app.settings.databaseApplicationName) AND wait_event_type = 'Lock'
            """).first()?.decode(column: "pid", as: Int.self)
    }
}

/// Terminates one backend, as an operator (or a failover) would.
func terminateBackend(_ t: TestApp, pid: Int) async throws {
    try await withSideConnection(t) { sql in
        try await sql.raw("SELECT pg_terminate_backend(\(bind: pid)::int)").run()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A unique `application_name`, so a test can find (and kill) its own app's backends.
func uniqueApplicationName() -> String {
    "test-" + UUID().uuidString.prefix(8).lowercased()
}
