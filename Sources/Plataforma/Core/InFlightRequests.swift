import Foundation
import NIOConcurrencyHelpers
import Vapor

/// Counts requests inside the middleware stack, so a stopping server can let them finish before
/// the databases close under them (a handler touching `req.db` after that would trap in Fluent).
public final class InFlightRequests: Sendable {
    private let count = NIOLockedValueBox(0)

    public var current: Int { count.withLockedValue { $0 } }

    func enter() { count.withLockedValue { $0 += 1 } }
    func leave() { count.withLockedValue { $0 -= 1 } }

    /// Waits until no request is in flight, at most `timeout`; returns how many were left.
    public func drain(timeout: Duration) async -> Int {
        let deadline = ContinuousClock.now + timeout
        while current > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return current
    }
}

extension Application {
    private struct InFlightKey: StorageKey { typealias Value = InFlightRequests }

    public var inFlightRequests: InFlightRequests {
        if let existing = storage[InFlightKey.self] { return existing }
        let created = InFlightRequests()
        storage[InFlightKey.self] = created
        return created
    }
}
