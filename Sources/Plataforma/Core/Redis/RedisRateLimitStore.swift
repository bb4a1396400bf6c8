import Logging
import NIOConcurrencyHelpers

/// Sliding-log rate limits in Redis, shared by every app instance that uses the same Redis and prefix.
///
/// Each key is a sorted set of event timestamps (ms, from Redis's own clock, so app hosts with skewed clocks agree).
/// A Lua script prunes, counts, decides and records in one atomic step, so concurrent requests can't overshoot.
public struct RedisRateLimitStore: RateLimitStore {
    private let client: RedisClient
    private let prefix: String

    public init(client: RedisClient, prefix: String = "plataforma:") {
        self.client = client
        self.prefix = prefix
    }

    public func acquire(_ key: String, rate: Rate) async throws -> ThrottleDecision {
        try await run("acquire", key, rate)
    }

    public func check(_ key: String, rate: Rate) async throws -> ThrottleDecision {
        try await run("check", key, rate)
    }

    public func record(_ key: String, rate: Rate) async throws {
        _ = try await run("record", key, rate)
    }

    public func reset(_ key: String) async throws {
        _ = try await client.send(["DEL", prefix + key])
    }

    /// KEYS[1]: the sorted set. ARGV: mode (acquire|check|record), limit, window in ms, a unique member.
    /// Returns {1, 0} when allowed (or recorded), {0, ms until one more event fits} when refused.
    /// Pruning drops events exactly one window old, as DRF's `SimpleRateThrottle` does.
    static let script = """
        if redis.replicate_commands then redis.replicate_commands() end -- Redis < 5: allow writes after TIME
        local key, mode = KEYS[1], ARGV[1]
        local limit, window = tonumber(ARGV[2]), tonumber(ARGV[3])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
        local count = redis.call('ZCARD', key)
        if mode == 'record' or (mode == 'acquire' and count < limit) then
          redis.call('ZADD', key, now, ARGV[4])
          redis.call('PEXPIRE', key, window)
          return {1, 0}
        end
        if count < limit then return {1, 0} end
        -- One more fits once all but limit-1 events have left; the last of those to leave is at rank count-limit.
        local blocking = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
        if blocking[2] == nil then return {0, window} end
        return {0, tonumber(blocking[2]) + window - now}
        """

    /// SHA1 of `script`; a test checks it against `SCRIPT LOAD`, so an edited script can't silently always miss.
    static let scriptSHA = "a928059a8e12cfd2142dea402937d6218cb089c7"

    private func run(_ mode: String, _ key: String, _ rate: Rate) async throws -> ThrottleDecision {
        let window = max(rate.seconds, 1) * 1000
        // A random member keeps simultaneous events distinct (a sorted set would merge equal members).
        let member = String(UInt64.random(in: .min ... .max), radix: 36)
        let arguments = ["1", prefix + key, mode, String(rate.count), String(window), member]
        let reply: RESPValue
        do {
            reply = try await client.send(["EVALSHA", Self.scriptSHA] + arguments)
        } catch RedisError.server(let message) where message.hasPrefix("NOSCRIPT") {
            reply = try await client.send(["EVAL", Self.script] + arguments)  // also caches it for the next EVALSHA
        }
        guard let items = reply.array, items.count == 2, let allowed = items[0].int, let waitMs = items[1].int else {
            throw RedisError.protocolError("unexpected rate limit script reply")
        }
        if allowed == 1 { return ThrottleDecision(allowed: true, retryAfter: 0) }
        return ThrottleDecision(allowed: false, retryAfter: max(1, (waitMs + 999) / 1000))
    }
}

/// Uses `primary` and, while it fails with a `RedisError`, answers from `fallback` (e.g. in-memory) instead of failing
/// requests. Logs a warning when the primary goes down and an info when it's back, not once per request.
public final class FallbackRateLimitStore: RateLimitStore {
    private let primary: any RateLimitStore
    private let fallback: any RateLimitStore
    private let logger: Logger
    private let primaryDown = NIOLockedValueBox(false)

    public init(primary: any RateLimitStore, fallback: any RateLimitStore, logger: Logger) {
        self.primary = primary
        self.fallback = fallback
        self.logger = logger
    }

    public func acquire(_ key: String, rate: Rate) async throws -> ThrottleDecision {
        try await run { try await $0.acquire(key, rate: rate) }
    }

    public func check(_ key: String, rate: Rate) async throws -> ThrottleDecision {
        try await run { try await $0.check(key, rate: rate) }
    }

    public func record(_ key: String, rate: Rate) async throws {
        try await run { try await $0.record(key, rate: rate) }
    }

    public func reset(_ key: String) async throws {
        try await fallback.reset(key)  // so events counted during an earlier outage don't resurface in the next one
        try await run { try await $0.reset(key) }
    }

    private func run<T>(_ operation: (any RateLimitStore) async throws -> T) async throws -> T {
        do {
            let result = try await operation(primary)
            if primaryDown.withLockedValue({ down in defer { down = false }; return down }) {
                logger.info("Rate limit store: Redis is back, using it again")
            }
            return result
        } catch let error as RedisError {
            if primaryDown.withLockedValue({ down in defer { down = true }; return !down }) {
                logger.warning(
                    "Rate limit store: Redis failed, using the in-process fallback until it recovers",
                    metadata: ["error": "\(error)"])
            }
            return try await operation(fallback)
        }
    }
}
