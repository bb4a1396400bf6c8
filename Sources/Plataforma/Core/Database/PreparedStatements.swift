import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit

/// Statements prepared once per connection and reused, so PostgreSQL parses and plans a repeated
/// statement once per connection instead of on every request (for a page of mentors that was more
/// than half of PostgreSQL's time: 0.45 ms of planning against 0.3 ms of execution).
///
/// PostgresNIO prepares a statement per connection by its type's static name and text. Ours are
/// built at run time, so the process keeps a registry of slots: a statement text with its
/// parameter types, once seen `threshold` times, is given slot *n* for the life of the process,
/// and `SlotStatement<High, Low>` (one type per slot, 16 × 16) reads its name and text from the
/// registry. A statement is prepared with the same parameter types PostgresKit would send in its
/// unnamed Parse, so its meaning does not change; statements whose binds PostgresKit encodes by
/// its slow path, statements other than SELECT/INSERT/UPDATE/DELETE/WITH, and statements once
/// the slots are used up run unnamed, as before.
///
/// `DATABASE_PREPARED_STATEMENTS=false` turns it off (`PostgresPool.Options.preparedStatements`).
///
/// A prepared statement whose result type changed under it (a column added by a migration while
/// the server runs: SQLSTATE 0A000, "cached plan must not change result type") retires its slot
/// and, outside a transaction, runs once more unnamed.
enum PreparedStatements {
    static let slotCount = 256
    /// Sightings before a statement gets a slot: one-off statements (DDL, rare filters) never do.
    static let threshold = 3

    struct Key: Hashable, Sendable {
        let sql: String
        let types: [PostgresDataType]
    }

    private struct Registry {
        var slots: [Key: Int] = [:]
        var statements: [Key] = []
        var sightings: [Key: Int] = [:]
        var retired: Set<Int> = []
    }

    private static let registry = NIOLockedValueBox(Registry())

    /// The slot for this statement, once it has been seen often enough; nil to run it unnamed.
    static func slot(for key: Key) -> Int? {
        registry.withLockedValue { registry in
            if let slot = registry.slots[key] { return registry.retired.contains(slot) ? nil : slot }
            guard registry.statements.count < slotCount else { return nil }
            let seen = registry.sightings[key, default: 0] + 1
            guard seen >= threshold else {
                if registry.sightings.count >= 10_000 { registry.sightings.removeAll(keepingCapacity: true) }
                registry.sightings[key] = seen
                return nil
            }
            registry.sightings[key] = nil
            registry.slots[key] = registry.statements.count
            registry.statements.append(key)
            return registry.statements.count - 1
        }
    }

    static func statement(_ slot: Int) -> Key { registry.withLockedValue { $0.statements[slot] } }

    static func retire(_ slot: Int) { registry.withLockedValue { _ = $0.retired.insert(slot) } }

    /// Whether a statement of this text may be prepared: queries and row changes only.
    static func isPreparable(_ sql: String) -> Bool {
        var start = sql.utf8.startIndex
        while start < sql.utf8.endIndex, sql.utf8[start] == 0x20 || sql.utf8[start] == 0x0A || sql.utf8[start] == 0x28 {
            start = sql.utf8.index(after: start)
        }
        let head = sql.utf8[start...].prefix(6).map { $0 & 0xDF }  // ASCII upper case
        for verb in ["SELECT", "INSERT", "UPDATE", "DELETE"] where head.elementsEqual(verb.utf8) { return true }
        return head.prefix(4).elementsEqual("WITH".utf8)
    }

    /// The binds as PostgresKit's fast path encodes them (nil, or `PostgresEncodable`), with the
    /// parameter types its unnamed Parse would send; nil when a bind needs the slow path.
    static func encode(_ binds: [any Encodable & Sendable]) -> (PostgresBindings, [PostgresDataType])? {
        var bindings = PostgresBindings(capacity: binds.count)
        var types: [PostgresDataType] = []
        types.reserveCapacity(binds.count)
        func add<T: Encodable>(_ value: T) -> Bool {
            if (value as Optional<Any>) == nil {
                bindings.appendNull()
                types.append(.null)
                return true
            }
            guard let fast = value as? any PostgresThrowingDynamicTypeEncodable else { return false }
            do { try bindings.append(fast, context: .default) } catch { return false }
            types.append(fast.psqlType)
            return true
        }
        for bind in binds {
            guard add(bind) else { return nil }
        }
        return (bindings, types)
    }

    /// Runs a statement in its slot on `connection`, from the connection's event loop after checking
    /// that the channel is open: `Task.immediate` runs PostgresNIO's `execute` up to its first
    /// suspension right there, and the statement is written before that, so a close cannot come
    /// between the check and the write (a statement written to a closed channel is never answered).
    static func run(slot: Int, bindings: PostgresBindings, on connection: PostgresConnection, logger: Logger,
                    _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let promise = connection.eventLoop.makePromise(of: Void.self)
        let start: @Sendable () -> Void = {
            guard !connection.isClosed else {
                promise.fail(DatabaseUnavailable(reason: .connectionLost, detail: "the connection to PostgreSQL was closed"))
                return
            }
            let high = digits[slot / 16], low = digits[slot % 16]
            execute(high, low, bindings: bindings, on: connection, logger: logger, onRow, promise: promise)
        }
        if connection.eventLoop.inEventLoop { start() } else { connection.eventLoop.execute(start) }
        return promise.futureResult
    }

    private static func execute<High: HexDigit, Low: HexDigit>(
        _: High.Type, _: Low.Type, bindings: PostgresBindings, on connection: PostgresConnection, logger: Logger,
        _ onRow: @escaping @Sendable (any SQLRow) -> Void, promise: EventLoopPromise<Void>
    ) {
        let statement = SlotStatement<High, Low>(bindings: bindings)
        Task.immediate {
            do {
                for try await row in try await connection.execute(statement, logger: logger) {
                    onRow(PreparedRow(row))
                }
                promise.succeed(())
            } catch {
                promise.fail(error)
            }
        }
    }

    /// Whether the error says a prepared statement's result type changed under it.
    static func isStalePlan(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, error.code == .server else { return false }
        return error.serverInfo?[.sqlState] == "0A000"
    }

    fileprivate static let digits: [any HexDigit.Type] = [
        H0.self, H1.self, H2.self, H3.self, H4.self, H5.self, H6.self, H7.self,
        H8.self, H9.self, HA.self, HB.self, HC.self, HD.self, HE.self, HF.self,
    ]
}

protocol HexDigit { static var value: Int { get } }
enum H0: HexDigit { static var value: Int { 0 } }
enum H1: HexDigit { static var value: Int { 1 } }
enum H2: HexDigit { static var value: Int { 2 } }
enum H3: HexDigit { static var value: Int { 3 } }
enum H4: HexDigit { static var value: Int { 4 } }
enum H5: HexDigit { static var value: Int { 5 } }
enum H6: HexDigit { static var value: Int { 6 } }
enum H7: HexDigit { static var value: Int { 7 } }
enum H8: HexDigit { static var value: Int { 8 } }
enum H9: HexDigit { static var value: Int { 9 } }
enum HA: HexDigit { static var value: Int { 10 } }
enum HB: HexDigit { static var value: Int { 11 } }
enum HC: HexDigit { static var value: Int { 12 } }
enum HD: HexDigit { static var value: Int { 13 } }
enum HE: HexDigit { static var value: Int { 14 } }
enum HF: HexDigit { static var value: Int { 15 } }

/// Slot `High × 16 + Low` of the registry as PostgresNIO's prepared statement.
struct SlotStatement<High: HexDigit, Low: HexDigit>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var slot: Int { High.value * 16 + Low.value }
    static var name: String { "plataforma_\(slot)" }
    static var sql: String { PreparedStatements.statement(slot).sql }
    static var bindingDataTypes: [PostgresDataType] { PreparedStatements.statement(slot).types }

    let bindings: PostgresBindings
    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

/// A row of a prepared statement as `SQLRow`, decoding the common column types straight from the
/// cell. PostgresKit's row decodes every cell through `PostgresDataTranslation` (a coding path, a
/// coding key and a dynamic cast per cell: 13% of the server's CPU on a page of mentors); for the
/// types below that path ends in the same `PostgresCell.decode` called here. The cases it treats
/// specially (text from a user-defined type, `Double` from `numeric`) and every other type go
/// through PostgresKit's own row, as before.
struct PreparedRow: SQLRow {
    let row: PostgresRandomAccessRow
    let source: PostgresRow

    init(_ row: PostgresRow) {
        source = row
        self.row = row.makeRandomAccess()
    }

    var allColumns: [String] { row.map(\.columnName) }
    func contains(column: String) -> Bool { row.contains(column) }
    func decodeNil(column: String) throws -> Bool { !row.contains(column) || row[column].bytes == nil }

    func decode<T: Decodable>(column: String, as type: T.Type) throws -> T {
        if row.contains(column) {
            let cell = row[column]
            if let value = try Self.fast(T.self, cell) { return value }
        }
        return try source.sql().decode(column: column, as: T.self)
    }

    private static func fast<T>(_: T.Type, _ cell: PostgresCell) throws -> T? {
        if T.self == String.self, !cell.dataType.isUserDefined { return try cell.decode(String.self) as? T }
        if T.self == Int.self { return try cell.decode(Int.self) as? T }
        if T.self == Optional<String>.self, !cell.dataType.isUserDefined { return try cell.decode(String?.self) as? T }
        if T.self == Optional<Int>.self { return try cell.decode(Int?.self) as? T }
        if T.self == Bool.self { return try cell.decode(Bool.self) as? T }
        if T.self == Optional<Bool>.self { return try cell.decode(Bool?.self) as? T }
        if T.self == Date.self { return try cell.decode(Date.self) as? T }
        if T.self == Optional<Date>.self { return try cell.decode(Date?.self) as? T }
        if T.self == Int64.self { return try cell.decode(Int64.self) as? T }
        if T.self == UUID.self { return try cell.decode(UUID.self) as? T }
        if T.self == Double.self, cell.dataType != .numeric { return try cell.decode(Double.self) as? T }
        if T.self == Optional<Double>.self, cell.dataType != .numeric { return try cell.decode(Double?.self) as? T }
        return nil
    }
}
