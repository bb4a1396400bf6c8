import Foundation
import NIOConcurrencyHelpers
import Vapor

/// What a rate limit says about one more event.
public struct ThrottleDecision: Sendable, Equatable {
    public let allowed: Bool
    /// Seconds until one more event would be allowed (0 when allowed).
    public let retryAfter: Int
}

/// Where rate-limit counters live: in-process for one server, Redis when replicas share them.
/// Counters are sliding windows, as DRF's `SimpleRateThrottle` keeps them.
public protocol RateLimitStore: Sendable {
    /// Records one event under `key` if it fits in `rate`; atomically decides and records.
    func acquire(_ key: String, rate: Rate) async throws -> ThrottleDecision
    /// Whether one more event would fit, without recording it.
    func check(_ key: String, rate: Rate) async throws -> ThrottleDecision
    /// Records an event regardless of the limit (failed logins are counted this way).
    func record(_ key: String, rate: Rate) async throws
    /// Forgets every event under `key`.
    func reset(_ key: String) async throws
}

/// The embedded default: a sliding log per key in process memory, pruned as it is used.
public final class MemoryRateLimitStore: RateLimitStore {
    private let state = NIOLockedValueBox([String: [Date]]())
    private let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = Date.init) {
        self.now = now
    }

    public func acquire(_ key: String, rate: Rate) async throws -> ThrottleDecision {
        let now = self.now()
        return state.withLockedValue { logs in
            let decision = Self.decide(&logs, key: key, rate: rate, now: now)
            if decision.allowed { logs[key, default: []].append(now) }
            Self.sweepIfLarge(&logs, now: now)
            return decision
        }
    }

    public func check(_ key: String, rate: Rate) async throws -> ThrottleDecision {
        let now = self.now()
        return state.withLockedValue { Self.decide(&$0, key: key, rate: rate, now: now) }
    }

    public func record(_ key: String, rate: Rate) async throws {
        let now = self.now()
        state.withLockedValue { logs in
            _ = Self.decide(&logs, key: key, rate: rate, now: now)
            logs[key, default: []].append(now)
        }
    }

    public func reset(_ key: String) async throws {
        _ = state.withLockedValue { $0.removeValue(forKey: key) }
    }

    private static func decide(_ logs: inout [String: [Date]], key: String, rate: Rate, now: Date) -> ThrottleDecision {
        let windowStart = now.addingTimeInterval(-TimeInterval(rate.seconds))
        var history = (logs[key] ?? []).filter { $0 > windowStart }
        logs[key] = history.isEmpty ? nil : history
        guard history.count >= rate.count else { return ThrottleDecision(allowed: true, retryAfter: 0) }
        history.sort()
        // The event that must age out before one more fits.
        let blocking = history[history.count - rate.count]
        let wait = blocking.addingTimeInterval(TimeInterval(rate.seconds)).timeIntervalSince(now)
        return ThrottleDecision(allowed: false, retryAfter: max(1, Int(wait.rounded(.up))))
    }

    /// Drops keys whose newest event is older than a day, so abandoned keys don't pile up.
    private static func sweepIfLarge(_ logs: inout [String: [Date]], now: Date) {
        guard logs.count > 50_000 else { return }
        let cutoff = now.addingTimeInterval(-86_400)
        logs = logs.filter { ($0.value.last ?? .distantPast) > cutoff }
    }
}

/// DRF's `AnonRateThrottle` and `UserRateThrottle` for every `/api/` request: per client IP
/// before authentication, per user after it.
struct ThrottleMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let settings = request.application.settings
        let store = request.application.rateLimits
        if let user = request.authenticatedUser {
            if let rate = settings.throttleUser {
                let decision = try await store.acquire("throttle:user:\(user.requireID())", rate: rate)
                if !decision.allowed { throw APIError.throttled(retryAfter: decision.retryAfter) }
            }
        } else if let rate = settings.throttleAnon {
            let decision = try await store.acquire("throttle:anon:\(request.clientIP)", rate: rate)
            if !decision.allowed { throw APIError.throttled(retryAfter: decision.retryAfter) }
        }
        return try await next.respond(to: request)
    }
}
