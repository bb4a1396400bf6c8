import Foundation
import Logging
import NIOCore
import Vapor

/// The Redis-backed services of one application, built by `configure` when `REDIS_URL` is set.
/// Each degrades on its own when Redis is down: rate limits fall back to process memory, the
/// revocation fast path answers "unknown" (so the database decides), and the métricas cache misses.
public final class RedisServices: Sendable {
    public let client: RedisClient
    public let prefix: String

    init(client: RedisClient, prefix: String) {
        self.client = client
        self.prefix = prefix
    }

    // MARK: Token revocation fast path

    /// Remembers why a `jti` was revoked until the token would have expired anyway. Best effort:
    /// the database row written by the same request is the authority.
    func markRevoked(_ jti: String, reason: String, until expiry: Date) async {
        let seconds = max(1, Int(expiry.timeIntervalSinceNow.rounded(.up)))
        _ = try? await client.send(["SET", prefix + "revocado:" + jti, reason, "EX", String(seconds)])
    }

    /// The revocation reason Redis knows, or nil when it knows none (or cannot answer): callers
    /// then ask the database, so an outage never lets a revoked token through.
    func knownRevocation(_ jti: String) async -> String? {
        guard let reply = try? await client.send(["GET", prefix + "revocado:" + jti]) else { return nil }
        return reply.string
    }

    // MARK: Métricas cache

    private var generationKey: String { prefix + "metricas:generacion" }

    /// The generation every successful API write bumps; nil when Redis does not answer.
    func metricasGeneration() async -> Int? {
        guard let reply = try? await client.send(["GET", generationKey]) else { return nil }
        if case .bulkString(nil) = reply { return 0 }  // no write has bumped it yet
        return reply.int
    }

    /// A payload another replica (or this one) stored under `validator`, if that is still the one stored.
    func cachedMetricas(_ key: String, validator: String) async -> ByteBuffer? {
        guard case .bulkString(var stored?) = try? await client.send(["GET", prefix + "metricas:" + key]),
              let newline = stored.readableBytesView.firstIndex(of: UInt8(ascii: "\n")),
              stored.readString(length: newline - stored.readerIndex) == validator else { return nil }
        stored.moveReaderIndex(forwardBy: 1)
        return stored
    }

    /// Stores a payload computed while `validator` was current, as `validator\npayload`; it
    /// expires anyway after `ttlSeconds`, so keys of old filter combinations do not pile up.
    func storeMetricas(_ key: String, validator: String, payload: ByteBuffer, ttlSeconds: Int = 300) async {
        var value = ByteBuffer(string: validator + "\n")
        var payload = payload
        value.writeBuffer(&payload)
        _ = try? await client.send(bytes: [Array("SET".utf8), Array((prefix + "metricas:" + key).utf8),
                                           Array(value.readableBytesView), Array("EX".utf8), Array(String(ttlSeconds).utf8)])
    }

    /// Called after every committed write: cached métricas become stale at once.
    func invalidateMetricas() async {
        _ = try? await client.send(["INCR", generationKey])
    }
}

extension Application {
    private struct RedisKey: StorageKey { typealias Value = RedisServices }

    /// Present when `REDIS_URL` is set.
    public var redis: RedisServices? {
        get { storage[RedisKey.self] }
        set { storage[RedisKey.self] = newValue }
    }

    /// Connects the Redis services (lazily: the pool dials on first use) and closes them on shutdown.
    func configureRedis(_ settings: Settings) {
        guard let configuration = settings.redis else {
            rateLimits = MemoryRateLimitStore()
            return
        }
        var logger = Logger(label: "plataforma.redis")
        logger.logLevel = settings.logLevel
        logger[metadataKey: "redis"] = "\(configuration)"
        let client = RedisClient(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
        redis = RedisServices(client: client, prefix: settings.redisPrefix)
        rateLimits = FallbackRateLimitStore(primary: RedisRateLimitStore(client: client, prefix: settings.redisPrefix),
                                            fallback: MemoryRateLimitStore(), logger: logger)
        lifecycle.use(RedisShutdown(client: client))
    }
}

private struct RedisShutdown: LifecycleHandler {
    let client: RedisClient

    func shutdownAsync(_ application: Application) async {
        await client.shutdown()
    }
}

/// After a successful write (any non-GET that answered below 400), cached métricas are dropped.
struct MetricasInvalidationMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        if ![.GET, .HEAD, .OPTIONS].contains(request.method), response.status.code < 400 {
            await request.application.invalidateMetricasGeneration()
        }
        return response
    }
}

extension Application {
    /// Moves the Redis generation that validates cached métricas on SQLite (`MetricasCache`). On
    /// PostgreSQL the database snapshot validates them and moves by itself, so there is nothing to do.
    func invalidateMetricasGeneration() async {
        guard settings.database.isSQLite, let redis else { return }
        await redis.invalidateMetricas()
    }
}
