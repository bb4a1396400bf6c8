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
///   command, `psql`), and stays the same while nothing writes. The account lookup of the request
///   reads it in the same statement (the route is marked `readsDatabaseSnapshot()`), so it costs
///   no round trip.
///   Two equal snapshots mean no write committed in between, so an answer computed after the
///   first one is still the answer at the second one.
/// - SQLite with Redis: the generation that every successful API write bumps (`MetricasInvalidationMiddleware`).
/// - SQLite without Redis (the embedded default): no validator, so no cache; every request computes.
///
/// After a write, the requests that arrive while one of them computes the new answer wait for that
/// one instead of computing it again (one computation per key and validator, not one per request).
final class MetricasCache: Sendable {
    typealias Load = @Sendable () async throws -> (payload: ByteBuffer, resultado: Resultado)

    private enum Slot {
        case ready(validator: String, payload: ByteBuffer)
        case loading(validator: String, task: Task<(payload: ByteBuffer, resultado: Resultado), any Error>)
    }

    /// Distinct `today|filters` keys kept at most; when full, the cache starts over.
    static let capacity = 512

    private let slots = NIOLockedValueBox([String: Slot]())

    /// The current validator, or nil when there is none (no cache on this configuration, or
    /// Redis did not answer: computing is then the only safe answer).
    static func validator(_ req: Request, on sql: any SQLDatabase) async throws -> String? {
        guard req.application.settings.metricasCache else { return nil }
        if sql.dialect.name == "postgresql" {
            // Read by the account lookup at the start of this request, or now.
            if let snapshot = req.databaseSnapshot { return "s:" + snapshot }
            let row = try await sql.raw("SELECT CAST(pg_current_snapshot() AS TEXT) AS snapshot").first()
            return try row.map { "s:" + (try $0.decode(column: "snapshot", as: String.self)) }
        }
        guard let generation = await req.application.redis?.metricasGeneration() else { return nil }
        return "g:\(generation)"
    }

    /// The answer for `key` under `validator`: kept, being loaded by another request (then
    /// `compartido`), or loaded now with `load`.
    func answer(for key: String, validator: String, load: @escaping Load) async throws -> (payload: ByteBuffer, resultado: Resultado) {
        enum Lookup {
            case kept(ByteBuffer)
            case loading(Task<(payload: ByteBuffer, resultado: Resultado), any Error>, owner: Bool)
        }
        let lookup = slots.withLockedValue { slots -> Lookup in
            switch slots[key] {
            case .ready(validator, let payload): return .kept(payload)
            case .loading(validator, let task): return .loading(task, owner: false)
            default:
                if slots.count >= Self.capacity, slots[key] == nil { slots.removeAll(keepingCapacity: true) }
                // Not a child task: if this request goes away, the others still get the answer.
                let task = Task { try await load() }
                slots[key] = .loading(validator: validator, task: task)
                return .loading(task, owner: true)
            }
        }
        switch lookup {
        case .kept(let payload):
            return (payload, .memoria)
        case .loading(let task, owner: false):
            return (try await task.value.payload, .compartido)
        case .loading(let task, owner: true):
            let result: Result<(payload: ByteBuffer, resultado: Resultado), any Error>
            do { result = .success(try await task.value) } catch { result = .failure(error) }
            slots.withLockedValue { slots in
                // Unless a request with another validator has taken the slot meanwhile.
                guard case .loading(validator, _) = slots[key] else { return }
                switch result {
                case .success(let answer): slots[key] = .ready(validator: validator, payload: answer.payload)
                case .failure: slots[key] = nil
                }
            }
            return try result.get()
        }
    }

    /// `plataforma_metricas_cache_total{resultado}`: answers served from this process (`memoria`),
    /// from Redis (`redis`), computed (`calculado`), waited for while another request computed
    /// them (`compartido`), or computed with no cache (`sin_cache`).
    enum Resultado: String, CaseIterable, Sendable { case memoria, redis, calculado, compartido, sinCache = "sin_cache" }

    private static let counters = Dictionary(uniqueKeysWithValues: Resultado.allCases.map {
        ($0, Counter(label: "plataforma_metricas_cache_total", dimensions: [("resultado", $0.rawValue)]))
    })

    static func count(_ resultado: Resultado) {
        counters[resultado]?.increment()
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
