import Fluent
import Metrics
import Vapor

/// The services one application holds, created once by `configure` (no globals).
extension Application {
    private struct SettingsKey: StorageKey { typealias Value = Settings }
    private struct RateLimitsKey: StorageKey { typealias Value = any RateLimitStore }

    public var settings: Settings {
        get {
            guard let settings = storage[SettingsKey.self] else { fatalError("configure(_:settings:) has not run") }
            return settings
        }
        set { storage[SettingsKey.self] = newValue }
    }

    private struct FieldCipherKey: StorageKey { typealias Value = FieldCipher }

    /// Encrypts and decrypts the columns listed in `EncryptedColumns`.
    public var fieldCipher: FieldCipher {
        get {
            guard let cipher = storage[FieldCipherKey.self] else { fatalError("configure(_:settings:) has not run") }
            return cipher
        }
        set { storage[FieldCipherKey.self] = newValue }
    }

    private struct WriteLockKey: StorageKey { typealias Value = AsyncLock }

    /// Serialises write transactions on SQLite, which allows one writer at a time anyway: waiting
    /// here suspends a task, where waiting in SQLite's busy handler would block a thread.
    public var sqliteWriteLock: AsyncLock? {
        get { storage[WriteLockKey.self] }
        set { storage[WriteLockKey.self] = newValue }
    }

    public var rateLimits: any RateLimitStore {
        get { storage[RateLimitsKey.self] ?? MemoryRateLimitStore() }
        set { storage[RateLimitsKey.self] = newValue }
    }
}

extension Request {
    /// A database transaction for read-check-write work; on SQLite one at a time per process.
    public func writeTransaction<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        let db = self.db
        let started = ContinuousClock.now
        // Waiting for a pooled connection (or SQLite's write lock) shows up here first.
        defer {
            let elapsed = started.duration(to: .now).components
            Metrics.Timer(label: "plataforma_db_transaction_seconds")
                .recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
        }
        guard let lock = application.sqliteWriteLock else { return try await db.transaction(body) }
        return try await lock.withLock { try await db.transaction(body) }
    }
}

extension Request {
    /// The model whose id is the path parameter `name`, or 404 (ids that are not numbers, out
    /// of range or unknown alike).
    public func findOr404<M: Model>(_ type: M.Type, parameter name: String = "id") async throws -> M where M.IDValue == Int {
        guard let id = parameters.get(name, as: Int.self), let model = try await M.find(id, on: db) else {
            throw APIError.notFound
        }
        return model
    }
}
