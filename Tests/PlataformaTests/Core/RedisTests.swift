import Fluent
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SQLKit
import Testing
import Vapor
@testable import Plataforma

@Suite("Redis: shared state across replicas, and what happens when Redis misbehaves")
struct RedisTests {
    func redisOverrides(_ extra: [String: String] = [:]) throws -> [String: String] {
        ["REDIS_URL": try TestRedis.url(), "REDIS_PREFIX": TestRedis.prefix()].merging(extra) { $1 }
    }

    @Test("two replicas count one anonymous rate limit together")
    func sharedRateLimit() async throws {
        try await withApp(try redisOverrides(["THROTTLE_ANON": "4/min"])) { a in
            try await withSecondApp(sharing: a) { b in
                var statuses: [HTTPStatus] = []
                for index in 0..<6 {
                    statuses.append(try await (index % 2 == 0 ? a : b).send(.GET, "/api/schema/").status)
                }
                #expect(statuses == [.ok, .ok, .ok, .ok, .tooManyRequests, .tooManyRequests])
            }
        }
    }

    @Test("a refresh token blacklisted through one replica is refused by the other, from Redis or the database")
    func sharedBlacklist() async throws {
        try await withApp(try redisOverrides()) { a in
            try await withSecondApp(sharing: a) { b in
                let user = try await a.makeUser()
                let pair = try await a.pair(for: user)
                let refresh = try #require(pair.refresh)
                #expect(try await a.send(.POST, "/api/token/blacklist/", json: ["refresh": .string(refresh)]).status == .ok)
                let jti = try await a.tokens.decode(refresh).jti
                #expect(await a.app.redis?.knownRevocation(jti) == "logout")
                #expect(try await b.send(.POST, "/api/token/refresh/", json: ["refresh": .string(refresh)]).status == .unauthorized)
                #expect(try await b.send(.POST, "/api/token/verify/", json: ["token": .string(refresh)]).status == .unauthorized)
                // Without the Redis entry the database still refuses it: Redis is only a fast path.
                _ = try await a.app.redis?.client.send(["DEL", a.app.settings.redisPrefix + "revocado:" + jti])
                #expect(try await b.send(.POST, "/api/token/refresh/", json: ["refresh": .string(refresh)]).status == .unauthorized)
            }
        }
    }

    @Test("métricas are shared through Redis, a write through the other replica invalidates them, and they always equal SUM")
    func metricasCache() async throws {
        try await withApp(try redisOverrides()) { a in
            try await withSecondApp(sharing: a) { b in
                let (_, admin) = try await a.userWithToken(.admin)
                let s = try await HoursSetup.make(a)
                let first = try await a.send(.GET, "/api/metricas/", token: admin)
                #expect(first.headers.first(name: "X-Cache") == "miss" && first.json["horas_pendientes"] == 0)
                // Replica b finds a's answer in Redis. On PostgreSQL the validator is the snapshot,
                // which other tests' writes move, so it may take a few tries; on SQLite the first.
                let second = TestDatabase.isPostgres ? try await MetricasCacheProbe.firstHit(b, "/api/metricas/", token: admin)
                    : try await b.send(.GET, "/api/metricas/", token: admin)
                #expect(second?.headers.first(name: "X-Cache") == "hit" && second?.json == first.json)
                let created = try await b.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("09:00", "10:30"))
                #expect(created.status == .created)
                let afterCreate = try await a.send(.GET, "/api/metricas/", token: admin)
                #expect(afterCreate.headers.first(name: "X-Cache") == "miss" && afterCreate.json["horas_pendientes"] == 1.5)
                #expect(try await b.send(.POST, "/api/registro-horas/\(created.json["id"].int ?? 0)/aprobar/", token: admin).status == .ok)
                let afterApproval = try await a.send(.GET, "/api/metricas/", token: admin)
                #expect(afterApproval.json["horas_totales"] == 1.5 && afterApproval.json["horas_pendientes"] == 0)
                // Filters are part of the key.
                let filtered = try await a.send(.GET, "/api/metricas/?desde=2025-04-01", token: admin)
                #expect(filtered.headers.first(name: "X-Cache") == "miss" && filtered.json["horas_totales"] == 0)
            }
        }
    }

    @Test("after a write, simultaneous métricas requests compute the answer once; the others wait for it")
    func metricasComputedOnce() async throws {
        try await withApp(try redisOverrides()) { t in
            let (_, admin) = try await t.userWithToken(.admin)
            let s = try await HoursSetup.make(t)
            #expect(try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("09:00", "10:30")).status == .created)
            let responses = try await t.concurrently(12, .GET, "/api/metricas/", token: admin, json: { _ in nil })
            #expect(responses.allSatisfy { $0.status == .ok && $0.body["horas_pendientes"] == 1.5 })
            let misses = responses.filter { $0.headers.first(name: "X-Cache") == "miss" }.count
            if TestDatabase.isPostgres {
                // The validator is the cluster's snapshot, which other tests' writes move while these
                // requests run: each distinct snapshot may be computed once.
                #expect((1...12).contains(misses))
            } else {
                #expect(misses == 1, "12 simultaneous requests under one generation: one computation")
            }
        }
    }

    @Test("the métricas cache runs one load per key and validator, however many callers wait for it")
    func singleFlight() async throws {
        let cache = MetricasCache()
        let loads = NIOLockedValueBox(0)
        let load: MetricasCache.Load = {
            loads.withLockedValue { $0 += 1 }
            try await Task.sleep(for: .milliseconds(100))
            return (ByteBuffer(string: "{}"), .calculado)
        }
        let results = try await withThrowingTaskGroup(of: MetricasCache.Resultado.self) { group in
            for _ in 0..<10 { group.addTask { try await cache.answer(for: "k", validator: "v1", load: load).resultado } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(loads.withLockedValue { $0 } == 1)
        #expect(results.filter { $0 == .calculado }.count == 1 && results.filter { $0 == .compartido }.count == 9)
        #expect(try await cache.answer(for: "k", validator: "v1", load: load).resultado == .memoria)
        // Another validator (a write happened): loaded again; a failed load is not kept.
        #expect(try await cache.answer(for: "k", validator: "v2", load: load).resultado == .calculado)
        #expect(loads.withLockedValue { $0 } == 2)
        struct Failure: Error {}
        await #expect(throws: Failure.self) { try await cache.answer(for: "k", validator: "v3") { throw Failure() } }
        #expect(try await cache.answer(for: "k", validator: "v3", load: load).resultado == .calculado)
    }

    @Test("Redis answering garbage, closing mid-reply or not listening: the API serves, limits fall back, /readyz is 503",
          arguments: [RedisFakeServer.Mode.garbage, .closeMidReply, nil])
    func misbehavingRedis(mode: RedisFakeServer.Mode?) async throws {
        let server = mode.map { RedisFakeServer(mode: $0) }
        let port: Int
        if let server {
            port = try await server.start()
        } else {
            let fake = RedisFakeServer(mode: .pong)
            port = try await fake.start()
            await fake.stop()  // nothing listens there any more
        }
        LogCapture.install()
        try await withApp(["REDIS_URL": "redis://127.0.0.1:\(port)/0", "THROTTLE_ANON": "6/min"]) { t in
            let ready = try await t.send(.GET, "/readyz")
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.json["redis"] == "error" && ready.json["database"] == "ok")
            #expect(try await t.send(.GET, "/healthz").status == .ok)
            // Logins, writes and métricas work; a blacklisted token stays refused (the database decides).
            let (_, admin) = try await t.userWithToken(.admin)
            #expect(try await t.send(.POST, "/api/conocimientos/", token: admin, json: ["nombre": "Redes"]).status == .created)
            let metricas = try await t.send(.GET, "/api/metricas/", token: admin)
            #expect(metricas.status == .ok && metricas.headers.first(name: "X-Cache") == "miss")
            let user = try await t.makeUser(email: "otra@example.com")
            let refresh = try #require(try await t.pair(for: user).refresh)
            #expect(try await t.send(.POST, "/api/token/blacklist/", json: ["refresh": .string(refresh)]).status == .ok)
            #expect(try await t.send(.POST, "/api/token/refresh/", json: ["refresh": .string(refresh)]).status == .unauthorized)
            // Rate limits keep working from process memory: 2 anonymous requests above, 4 more fit, the 7th is refused.
            var statuses: [HTTPStatus] = []
            for _ in 0..<5 { statuses.append(try await t.send(.GET, "/api/schema/").status) }
            #expect(statuses == [.ok, .ok, .ok, .ok, .tooManyRequests])
            let warnings = LogCapture.shared.records {
                $0.level == .warning && $0.message.hasPrefix("Rate limit store: Redis failed") && $0.metadata["redis"]?.contains(":\(port)/") == true
            }
            #expect(warnings.count == 1, "the fallback is logged once per outage, not per request")
        }
        await server?.stop()
    }

    @Test("a bad REDIS_URL stops the start, naming the variable and never the password")
    func badURL() throws {
        for url in ["rediss://:s3cret-pw@127.0.0.1:6379/0", "http://127.0.0.1:6379", "redis://:s3cret-pw@127.0.0.1:99999/0"] {
            #expect(throws: ConfigurationError.self) { try Settings.load(from: ["REDIS_URL": url, "DATA_DIR": "/tmp/plataforma-redis-url-test"]) }
            do {
                _ = try Settings.load(from: ["REDIS_URL": url, "DATA_DIR": "/tmp/plataforma-redis-url-test"])
            } catch {
                let text = String(describing: error)
                #expect(text.contains("REDIS_URL") && !text.contains("s3cret-pw"), "\(text)")
            }
        }
    }
}
