import NIOConcurrencyHelpers
import NIOCore
import Metrics
import SQLKit
import Vapor

/// Answers of `/api/metricas/` kept in process memory (and in Redis, for the other replicas), each
/// under the *validator* that was current when it was computed. An answer is served only while
/// its validator is still the current one, so it is never older than the last committed write:
///
/// - PostgreSQL: the transaction snapshot, `pg_current_snapshot()`. It moves whenever any
///   transaction that wrote commits or starts, whoever ran it (this process, another replica, a CLI
///   command, `psql`), and stays the same while nothing writes. One trivial query per request.
///   Two equal snapshots mean no write committed in between, so an answer computed after the
///   first one is still the answer at the second one.
/// - SQLite with Redis: the generation that every successful API write bumps (`MetricasInvalidationMiddleware`).
/// - SQLite without Redis (the embedded default): no validator, so no cache; every request computes.
final class MetricasCache: Sendable {
    private struct Entry {
        var validator: String
        var payload: ByteBuffer
    }

    /// Distinct `today|filters` keys kept at most; when full, the cache starts over.
    static let capacity = 512

    private let entries = NIOLockedValueBox([String: Entry]())

    /// The current validator, or nil when there is none (no cache on this configuration, or
    /// Redis did not answer: computing is then the only safe answer).
    static func validator(_ req: Request, on sql: any SQLDatabase) async throws -> String? {
        guard req.application.settings.metricasCache else { return nil }
        if sql.dialect.name == "postgresql" {
            let row = try await sql.raw("SELECT CAST(pg_current_snapshot() AS TEXT) AS snapshot").first()
            return try row.map { "s:" + (try $0.decode(column: "snapshot", as: String.self)) }
        }
        guard let generation = await req.application.redis?.metricasGeneration() else { return nil }
        return "g:\(generation)"
    }

    func payload(for key: String, validator: String) -> ByteBuffer? {
        entries.withLockedValue { entries in
            guard let entry = entries[key], entry.validator == validator else { return nil }
            return entry.payload
        }
    }

    /// `plataforma_metricas_cache_total{resultado}`: answers served from this process (`memoria`),
    /// from Redis (`redis`), computed (`calculado`) or computed with no cache (`sin_cache`).
    enum Resultado: String, CaseIterable { case memoria, redis, calculado, sinCache = "sin_cache" }

    private static let counters = Dictionary(uniqueKeysWithValues: Resultado.allCases.map {
        ($0, Counter(label: "plataforma_metricas_cache_total", dimensions: [("resultado", $0.rawValue)]))
    })

    static func count(_ resultado: Resultado) {
        counters[resultado]?.increment()
    }

    func store(_ payload: ByteBuffer, for key: String, validator: String) {
        entries.withLockedValue { entries in
            if entries.count >= Self.capacity, entries[key] == nil { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(validator: validator, payload: payload)
        }
    }
}

extension Application {
    private struct MetricasCacheKey: StorageKey { typealias Value = MetricasCache }

    var metricasCache: MetricasCache {
        if let cache = storage[MetricasCacheKey.self] { return cache }
        let cache = MetricasCache()
        storage[MetricasCacheKey.self] = cache
        return cache
    }
}
