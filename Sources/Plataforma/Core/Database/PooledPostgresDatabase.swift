import FluentKit
import FluentPostgresDriver
import FluentSQL
import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit
import Vapor

/// Fluent's PostgreSQL database over `PostgresPool` (`DatabaseConfigurationFactory.pooledPostgres`).
/// It speaks SQL exactly as FluentPostgresDriver does (same converter, same `RETURNING` on
/// creates, PSQLError as `DatabaseError`); what differs is where connections come from and how a
/// broken one is handled.
struct PostgresPoolConfiguration: DatabaseConfiguration {
    var middleware: [any AnyModelMiddleware] = []
    let pool: PostgresPool
    let sqlLogLevel: Logger.Level

    func makeDriver(for databases: Databases) -> any DatabaseDriver {
        PostgresPoolDriver(pool: pool, sqlLogLevel: sqlLogLevel)
    }
}

extension DatabaseConfigurationFactory {
    /// PostgreSQL through our own pool (see `PostgresPool`).
    static func pooledPostgres(_ pool: PostgresPool, sqlLogLevel: Logger.Level = .debug) -> Self {
        .init { PostgresPoolConfiguration(pool: pool, sqlLogLevel: sqlLogLevel) }
    }
}

final class PostgresPoolDriver: DatabaseDriver {
    let pool: PostgresPool
    let sqlLogLevel: Logger.Level

    init(pool: PostgresPool, sqlLogLevel: Logger.Level) {
        self.pool = pool
        self.sqlLogLevel = sqlLogLevel
    }

    func makeDatabase(with context: DatabaseContext) -> any Database {
        PooledPostgresDatabase(pool: pool, context: context, connection: nil, inTransaction: false, sqlLogLevel: sqlLogLevel)
    }

    func shutdown() {
        let pool = self.pool
        Task { await pool.shutdown() }
    }

    func shutdownAsync() async {
        await pool.shutdown()
    }
}

extension Application {
    private struct PostgresPoolKey: StorageKey { typealias Value = PostgresPool }

    /// The PostgreSQL pool behind `app.db`, when the database is PostgreSQL.
    var postgresPool: PostgresPool? {
        get { storage[PostgresPoolKey.self] }
        set { storage[PostgresPoolKey.self] = newValue }
    }
}

/// A database handle: on the pool (each statement leases a connection), or bound to one leased
/// connection inside `withConnection` and `transaction`.
struct PooledPostgresDatabase: Sendable {
    let pool: PostgresPool
    let context: DatabaseContext
    let connection: PostgresConnection?
    let inTransaction: Bool
    let sqlLogLevel: Logger.Level

    private func bound(to connection: PostgresConnection, inTransaction: Bool) -> PooledPostgresDatabase {
        PooledPostgresDatabase(pool: pool, context: context, connection: connection, inTransaction: inTransaction,
                               sqlLogLevel: sqlLogLevel)
    }

    private func sql(on connection: PostgresConnection) -> some SQLDatabase {
        GuardedPostgresConnection(connection: connection, logger: context.logger)
            .sql(encodingContext: .default, decodingContext: .default, queryLogLevel: sqlLogLevel)
    }

    /// Leases a connection for `body` and gives it back, dropped when the work broke it.
    private func leasing<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        let pool = self.pool
        return pool.lease(on: context.eventLoop).flatMap { connection in
            body(connection).always { result in
                switch result {
                case .success: pool.release(connection, reusable: true)
                case .failure(let error): pool.release(connection, reusable: !PostgresPool.isConnectionLevel(error))
                }
            }
        }
    }
}

extension PooledPostgresDatabase: Database {
    func execute(query: DatabaseQuery, onOutput: @escaping @Sendable (any DatabaseOutput) -> Void) -> EventLoopFuture<Void> {
        var expression = SQLQueryConverter(delegate: PostgresSchemaDelegate()).convert(query)
        // Creates return the generated id, as FluentPostgresDriver does ("" marks composite ids).
        if case .create = query.action, query.customIDKey != .some(.string("")) {
            expression = SQLKit.SQLList([expression, SQLReturning(.init((query.customIDKey ?? .id).description))], separator: SQLRaw(" "))
        }
        return execute(sql: expression) { onOutput(PostgresRowOutput(row: $0, schema: nil)) }
    }

    func execute(schema: DatabaseSchema) -> EventLoopFuture<Void> {
        let expression = SQLSchemaConverter(delegate: PostgresSchemaDelegate()).convert(schema)
        return execute(sql: expression) { _ in }
    }

    func execute(enum e: DatabaseEnum) -> EventLoopFuture<Void> {
        switch e.action {
        case .create:
            return e.createCases.reduce(create(enum: e.name)) { $0.value($1) }.run()
        case .update:
            guard !e.createCases.isEmpty else { return eventLoop.makeSucceededFuture(()) }
            return eventLoop.flatten(e.createCases.map { alter(enum: e.name).add(value: $0).run() })
        case .delete:
            return drop(enum: e.name).run()
        }
    }

    func withConnection<T: Sendable>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        if connection != nil { return closure(self) }
        return leasing { connection in closure(self.bound(to: connection, inTransaction: false)) }
    }

    func transaction<T: Sendable>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        if inTransaction { return closure(self) }
        if let connection { return Self.runTransaction(bound(to: connection, inTransaction: true), closure) }
        return leasing { connection in Self.runTransaction(self.bound(to: connection, inTransaction: true), closure) }
    }

    /// BEGIN, the work, COMMIT; on failure ROLLBACK, unless the connection itself failed (the
    /// server rolls back what a lost connection left open, and a statement written to a closed
    /// connection would never be answered). A connection whose ROLLBACK failed is in an unknown
    /// state: it is closed, so the pool drops it.
    private static func runTransaction<T: Sendable>(_ db: PooledPostgresDatabase,
                                          _ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        db.raw("BEGIN").run().flatMap {
            closure(db).flatMap { result in db.raw("COMMIT").run().map { result } }
                .flatMapError { error in
                    guard !PostgresPool.isConnectionLevel(error) else { return db.eventLoop.makeFailedFuture(error) }
                    return db.raw("ROLLBACK").run()
                        .flatMapError { _ in (db.connection.map(PostgresPool.close) ?? db.eventLoop.makeSucceededVoidFuture()).flatMapErrorThrowing { _ in } }
                        .flatMapThrowing { throw error }
                }
        }
    }
}

extension PooledPostgresDatabase: SQLDatabase {
    var dialect: any SQLDialect { PostgresDialect() }
    var version: (any SQLDatabaseReportedVersion)? { nil }
    var queryLogLevel: Logger.Level? { sqlLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        if let connection { return run(query, on: connection, onRow) }
        return leasing { connection in self.run(query, on: connection, onRow) }
    }

    /// A statement seen often enough runs prepared (`PreparedStatements`); any other unnamed, through
    /// PostgresKit.
    private func run(_ query: any SQLExpression, on connection: PostgresConnection,
                     _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        let database = sql(on: connection)
        guard pool.options.preparedStatements else { return database.execute(sql: query, onRow) }
        let (text, binds) = database.serialize(query)
        // Unnamed, the statement goes as serialized here: PostgresKit does not render it again.
        let serialized = SerializedSQL(text: text, binds: binds)
        guard PreparedStatements.isPreparable(text), let (bindings, types) = PreparedStatements.encode(binds),
              let slot = PreparedStatements.slot(for: .init(sql: text, types: types)) else {
            return database.execute(sql: serialized, onRow)
        }
        context.logger.log(level: sqlLogLevel, "Executing query", metadata: ["sql": .string(text), "prepared": .stringConvertible(slot)])
        let inTransaction = self.inTransaction
        return PreparedStatements.run(slot: slot, bindings: bindings, on: connection, logger: context.logger, onRow)
            .flatMapError { error in
                guard PreparedStatements.isStalePlan(error) else { return connection.eventLoop.makeFailedFuture(error) }
                PreparedStatements.retire(slot)
                // Inside a transaction the error has aborted it: the caller's rollback follows.
                guard !inTransaction else { return connection.eventLoop.makeFailedFuture(error) }
                return database.execute(sql: serialized, onRow)
            }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await execute(sql: query, onRow).get()
    }

    func withSession<R>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        if connection != nil { return try await closure(self) }
        let connection = try await pool.lease(on: context.eventLoop).get()
        do {
            let result = try await closure(bound(to: connection, inTransaction: false))
            pool.release(connection, reusable: true)
            return result
        } catch {
            pool.release(connection, reusable: !PostgresPool.isConnectionLevel(error))
            throw error
        }
    }
}

/// A leased connection as PostgresKit's `PostgresDatabase`. PostgresNIO 1.33 never answers a
/// statement written to a connection whose channel has closed (the write fails with no promise to
/// tell), so every statement is written from the connection's event loop after checking that the
/// channel is still open: the check and the write then cannot be separated by the close.
struct GuardedPostgresConnection: PostgresDatabase {
    let connection: PostgresConnection
    let logger: Logger

    var eventLoop: any EventLoop { connection.eventLoop }

    func send(_ request: any PostgresRequest, logger: Logger) -> EventLoopFuture<Void> {
        withConnection { $0.send(request, logger: logger) }
    }

    func withConnection<T: Sendable>(_ closure: @escaping (PostgresConnection) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        let connection = self.connection
        let run = { () -> EventLoopFuture<T> in
            guard !connection.isClosed else {
                return connection.eventLoop.makeFailedFuture(
                    DatabaseUnavailable(reason: .connectionLost, detail: "the connection to PostgreSQL was closed"))
            }
            return closure(connection)
        }
        if connection.eventLoop.inEventLoop { return run() }
        nonisolated(unsafe) let unsafeRun = run
        return connection.eventLoop.flatSubmit { unsafeRun() }
    }
}

/// A statement already rendered for PostgreSQL: its text (placeholders `$1`…) and binds, written
/// as they are.
private struct SerializedSQL: SQLExpression {
    let text: String
    let binds: [any Encodable & Sendable]

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write(text)
        serializer.binds.append(contentsOf: binds)
    }
}

/// A row as Fluent's output; `schema` prefixes keys for joined models, as FluentPostgresDriver does.
private struct PostgresRowOutput: DatabaseOutput {
    let row: any SQLRow
    let schema: String?

    var description: String { String(describing: row) }

    private func key(_ key: FieldKey) -> String {
        (schema.map { FieldKey.prefix(.prefix(.string($0), "_"), key) } ?? key).description
    }

    func schema(_ schema: String) -> any DatabaseOutput { PostgresRowOutput(row: row, schema: schema) }
    func contains(_ key: FieldKey) -> Bool { row.contains(column: self.key(key)) }
    func decodeNil(_ key: FieldKey) throws -> Bool { try row.decodeNil(column: self.key(key)) }
    func decode<T: Decodable>(_ key: FieldKey, as: T.Type) throws -> T { try row.decode(column: self.key(key), as: T.self) }
}

/// PostgreSQL's column types for Fluent's schema builder (FluentPostgresDriver's mapping).
private struct PostgresSchemaDelegate: SQLConverterDelegate {
    func customDataType(_ dataType: DatabaseSchema.DataType) -> (any SQLExpression)? {
        switch dataType {
        case .uuid: SQLRaw("UUID")
        case .bool: SQLRaw("BOOL")
        case .data: SQLRaw("BYTEA")
        case .date: SQLRaw("DATE")
        case .datetime: SQLRaw("TIMESTAMPTZ")
        case .double: SQLRaw("DOUBLE PRECISION")
        case .dictionary: SQLRaw("JSONB")
        case .array(of: let type):
            if let type, let element = customDataType(type) { SQLArrayType(element: element) } else { SQLRaw("JSONB") }
        case .enum(let value): SQLIdentifier(value.name)
        case .int8, .uint8: SQLIdentifier("char")
        case .int16, .uint16: SQLRaw("SMALLINT")
        case .int32, .uint32: SQLRaw("INT")
        case .int64, .uint64: SQLRaw("BIGINT")
        case .string: SQLRaw("TEXT")
        case .time: SQLRaw("TIME")
        case .float: SQLRaw("FLOAT")
        case .custom: nil
        }
    }
}

private struct SQLArrayType: SQLExpression {
    let element: any SQLExpression

    func serialize(to serializer: inout SQLSerializer) {
        element.serialize(to: &serializer)
        serializer.write("[]")
    }
}
