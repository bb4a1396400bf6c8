import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("Rate limits")
struct ThrottleTests {
    @Test("after five failed logins for one email the sixth attempt is 429, even with the right password")
    func loginFailures() async throws {
        try await withApp { t in
            try await t.makeUser(email: "objetivo@example.com")
            for _ in 0..<5 {
                let res = try await t.send(.POST, "/api/token/", json: ["email": "Objetivo@example.com", "password": "adivinanza-1"])
                #expect(res.status == .unauthorized)
            }
            let sixth = try await t.send(.POST, "/api/token/", json: ["email": "objetivo@example.com", "password": .string(fixturePassword)])
            #expect(sixth.status == .tooManyRequests)
            #expect(sixth.json["code"] == "throttled")
            let retry = try #require(Int(sixth.headers.first(name: "Retry-After") ?? ""))
            #expect(retry > 800 && retry <= 900)
            #expect(sixth.json["detail"].string?.contains("\(retry) segundos") == true)
            // The cookie login shares the counter; other accounts are unaffected.
            let cookie = try await t.send(.POST, "/api/auth/login/", json: ["email": "objetivo@example.com", "password": .string(fixturePassword)])
            #expect(cookie.status == .tooManyRequests)
            try await t.makeUser(email: "otra@example.com")
            let other = try await t.send(.POST, "/api/token/", json: ["email": "otra@example.com", "password": .string(fixturePassword)])
            #expect(other.status == .ok)
        }
    }

    @Test("a successful login clears the failure count")
    func successResets() async throws {
        try await withApp { t in
            try await t.makeUser(email: "olvidadiza@example.com")
            for round in 0..<2 {
                for _ in 0..<4 {
                    _ = try await t.send(.POST, "/api/token/", json: ["email": "olvidadiza@example.com", "password": "no-era-esta"])
                }
                let ok = try await t.send(.POST, "/api/token/", json: ["email": "olvidadiza@example.com", "password": .string(fixturePassword)])
                #expect(ok.status == .ok, "round \(round)")
            }
        }
    }

    @Test("THROTTLE_LOGIN_IP counts every login attempt from one address")
    func loginPerIP() async throws {
        try await withApp(["THROTTLE_LOGIN_IP": "3/min"]) { t in
            for index in 0..<3 {
                let res = try await t.send(.POST, "/api/token/", json: ["email": .string("x\(index)@example.com"), "password": "Algo-Largo-1"])
                #expect(res.status == .unauthorized)
            }
            let fourth = try await t.send(.POST, "/api/token/", json: ["email": "y@example.com", "password": "Algo-Largo-1"])
            #expect(fourth.status == .tooManyRequests)
            #expect(Int(fourth.headers.first(name: "Retry-After") ?? "") ?? 0 > 0)
        }
    }

    @Test("THROTTLE_ANON limits unauthenticated API calls per IP; THROTTLE_USER per user")
    func anonAndUser() async throws {
        try await withApp(["THROTTLE_ANON": "2/min", "THROTTLE_USER": "3/hour"]) { t in
            #expect(try await t.send(.GET, "/api/roles/").status == .unauthorized)
            #expect(try await t.send(.GET, "/api/roles/").status == .unauthorized)
            let third = try await t.send(.GET, "/api/roles/")
            #expect(third.status == .tooManyRequests)
            #expect(third.json["code"] == "throttled")
            let (_, token) = try await t.userWithToken(.mentor)
            for _ in 0..<3 { #expect(try await t.send(.GET, "/api/roles/", token: token).status == .ok) }
            let over = try await t.send(.GET, "/api/roles/", token: token)
            #expect(over.status == .tooManyRequests)
            #expect(Int(over.headers.first(name: "Retry-After") ?? "") ?? 0 > 3_000)
            let (_, other) = try await t.userWithToken(.mentor)
            #expect(try await t.send(.GET, "/api/roles/", token: other).status == .ok)
            #expect(try await t.send(.GET, "/healthz").status == .ok)  // operations endpoints are not throttled
        }
    }

    @Test("the client IP comes from X-Forwarded-For only behind a trusted proxy")
    func forwardedFor() async throws {
        try await withApp(["THROTTLE_ANON": "1/min", "TRUSTED_PROXIES": "127.0.0.0/8"]) { t in
            try await Self.expectStatus(t, forwardedFor: "203.0.113.1", .unauthorized)
            try await Self.expectStatus(t, forwardedFor: "203.0.113.2", .unauthorized)
            try await Self.expectStatus(t, forwardedFor: "203.0.113.1", .tooManyRequests)
        }
        try await withApp(["THROTTLE_ANON": "1/min"]) { t in
            try await Self.expectStatus(t, forwardedFor: "203.0.113.1", .unauthorized)
            // Untrusted peer: the header is ignored, so this is the same client.
            try await Self.expectStatus(t, forwardedFor: "203.0.113.2", .tooManyRequests)
        }
    }

    static func expectStatus(_ t: TestApp, forwardedFor address: String, _ expected: HTTPResponseStatus,
                             sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let status = try await t.send(.GET, "/api/roles/", headers: ["X-Forwarded-For": address]).status
        #expect(status == expected, sourceLocation: sourceLocation)
    }

    @Test("DRF rate syntax, with multipliers")
    func rates() {
        #expect(Rate("100/min") == Rate(count: 100, seconds: 60))
        #expect(Rate("5/15min") == Rate(count: 5, seconds: 900))
        #expect(Rate("1000/hour") == Rate(count: 1_000, seconds: 3_600))
        #expect(Rate("10/s") == Rate(count: 10, seconds: 1))
        #expect(Rate("3/2d") == Rate(count: 3, seconds: 172_800))
        for bad in ["", "100", "x/min", "0/min", "5/15", "5/fortnight", "-1/min", "5/0min"] { #expect(Rate(bad) == nil, "\(bad)") }
    }

    @Test("the in-process store is a sliding window: events age out")
    func slidingWindow() async throws {
        let clock = TestClock()
        let store = MemoryRateLimitStore(now: { clock.now })
        let rate = Rate(count: 2, seconds: 10)
        #expect(try await store.acquire("k", rate: rate).allowed)
        clock.advance(4)
        #expect(try await store.acquire("k", rate: rate).allowed)
        let blocked = try await store.acquire("k", rate: rate)
        #expect(!blocked.allowed && blocked.retryAfter == 6)
        clock.advance(6.5)
        #expect(try await store.acquire("k", rate: rate).allowed)
        try await store.reset("k")
        #expect(try await store.check("k", rate: rate).allowed)
    }
}

/// A settable clock for the rate-limit store.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    var now: Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}
