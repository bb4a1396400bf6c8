import FluentKit
import SQLKit

/// A named lock that serialises one kind of write across connections and replicas: a row of
/// `bloqueos` that each such transaction updates first and keeps locked until it commits.
/// Check-then-write rules that no unique index can express (overlapping time slots) run under it.
public enum WriteLock {
    public static let table = "bloqueos"

    /// Takes the lock `name` for the rest of the current transaction (call it on the transaction's
    /// database). It must be the transaction's first statement: SQLite then takes its write lock
    /// before reading anything, so a waiting writer never holds a stale snapshot; PostgreSQL holds
    /// the row lock until commit. The row is created on first use.
    public static func acquire(_ name: String, on database: any Database) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        try await sql.raw("""
            INSERT INTO \(ident: table) (nombre, version) VALUES (\(bind: name), 1)
            ON CONFLICT (nombre) DO UPDATE SET version = \(ident: table).version + 1
            """).run()
    }
}
