import Foundation
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO
import SQLKit
import Testing
import Vapor
@testable import Plataforma

/// Statements prepared once per connection (PreparedStatements): what PostgreSQL holds, what a
/// schema change does to them, and a close racing the write.
@Suite("PostgreSQL prepared statements", .enabled(if: TestDatabase.isPostgres), .serialized)
struct PreparedStatementTests {
    /// The names and texts of the statements prepared on the session's own connection.
    private func prepared(on sql: any SQLDatabase) async throws -> [String: String] {
        var names: [String: String] = [:]
        for row in try await sql.raw("SELECT name, statement FROM pg_prepared_statements").all() {
            names[try row.decode(column: "name", as: String.self)] = try row.decode(column: "statement", as: String.self)
        }
        return names
    }

    @Test("a statement repeated on a connection is prepared there once and answers as before; one-off and DDL statements are not")
    func repeatedIsPrepared() async throws {
        try await withApp(["DATABASE_APPLICATION_NAME": uniqueApplicationName()]) { t in
            let sql = try #require(t.app.db as? any SQLDatabase)
            let marker = "prepared_\(UUID().uuidString.prefix(8).lowercased())"
            try await sql.withSession { session in
                for value in 1...5 {
                    let row = try #require(try await session.raw("SELECT \(unsafeRaw: "'\(marker)'") AS m, \(bind: value) + 1 AS v").first())
                    #expect(try row.decode(column: "v", as: Int.self) == value + 1)
                    #expect(try row.decode(column: "m", as: String.self) == marker)
                }
                try await session.raw("SELECT \(unsafeRaw: "'\(marker)_once'") AS m, \(bind: 1) AS v").run()
                let statements = try await prepared(on: session)
                let ours = statements.filter { $0.value.contains(marker) }
                #expect(ours.count == 1, "\(statements)")
                #expect(ours.keys.allSatisfy { $0.hasPrefix("plataforma_") })
                #expect(!ours.values.contains { $0.contains("\(marker)_once") })
            }
        }
    }

    @Test("DATABASE_PREPARED_STATEMENTS=false prepares nothing")
    func turnedOff() async throws {
        try await withApp(["DATABASE_PREPARED_STATEMENTS": "false", "DATABASE_APPLICATION_NAME": uniqueApplicationName()]) { t in
            let sql = try #require(t.app.db as? any SQLDatabase)
            try await sql.withSession { session in
                for value in 1...5 { try await session.raw("SELECT \(bind: value) AS off_switch").run() }
                #expect(try await prepared(on: session).isEmpty)
            }
        }
    }

    @Test("a column added while statements are prepared: the next read outside a transaction answers with it")
    func schemaChange() async throws {
        try await withApp(["DATABASE_APPLICATION_NAME": uniqueApplicationName()]) { t in
            let sql = try #require(t.app.db as? any SQLDatabase)
            let table = "prepared_change_\(UUID().uuidString.prefix(8).lowercased())"
            try await sql.raw("CREATE TABLE \(ident: table) (id BIGINT PRIMARY KEY, a TEXT)").run()
            try await sql.raw("INSERT INTO \(ident: table) VALUES (1, 'uno')").run()
            try await sql.withSession { session in
                for _ in 1...4 {
                    let row = try #require(try await session.raw("SELECT * FROM \(ident: table) WHERE id = \(bind: 1)").first())
                    #expect(!row.contains(column: "b"))
                }
                #expect(try await prepared(on: session).values.contains { $0.contains(table) })
                // Another connection changes the table under the prepared statement.
                try await t.app.db.transaction { other in
                    try await (other as! any SQLDatabase).raw("ALTER TABLE \(ident: table) ADD COLUMN b TEXT DEFAULT 'nueva'").run()
                }
                let row = try #require(try await session.raw("SELECT * FROM \(ident: table) WHERE id = \(bind: 1)").first())
                #expect(try row.decode(column: "b", as: String.self) == "nueva")
            }
            try await sql.raw("DROP TABLE \(ident: table)").run()
        }
    }

    @Test("a close that follows the write on the event loop fails the statement at once: it never waits for an answer that cannot come")
    func closeRacingWrite() async throws {
        try await withApp(["DATABASE_APPLICATION_NAME": uniqueApplicationName()]) { t in
            let pool = try #require(t.app.postgresPool)
            let text = "SELECT pg_sleep(0) AS close_race, $1::bigint AS v"
            var slot: Int?
            for _ in 0..<PreparedStatements.threshold { slot = PreparedStatements.slot(for: .init(sql: text, types: [.int8])) }
            let slotNumber = try #require(slot)
            for round in 0..<20 {
                let connection = try await pool.lease(on: t.app.eventLoopGroup.any()).get()
                var bindings = PostgresBindings()
                bindings.append(round)
                // The statement is started and the connection closed in the same event-loop tick;
                // the answer (any answer) must come, not a wait for ever.
                let outcome = connection.eventLoop.flatSubmit {
                    let future = PreparedStatements.run(slot: slotNumber, bindings: bindings, on: connection, logger: t.app.logger) { _ in }
                    _ = PostgresPool.close(connection)
                    return future.map { "answered" }.recover { _ in "failed" }
                }
                let answered: String = await withCheckedContinuation { continuation in
                    let resumed = NIOLockedValueBox(false)
                    let finish: @Sendable (String) -> Void = { answer in
                        if !resumed.withLockedValue({ done in defer { done = true }; return done }) { continuation.resume(returning: answer) }
                    }
                    outcome.whenSuccess(finish)
                    connection.eventLoop.scheduleTask(in: .seconds(5)) { finish("no answer in 5 s") }
                }
                #expect(answered != "no answer in 5 s", "round \(round)")
                pool.release(connection, reusable: false)
            }
        }
    }
}
