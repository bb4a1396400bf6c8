import Crypto
import Fluent
import FluentSQL
import Foundation
import SQLKit
import NIOConcurrencyHelpers
import Vapor

/// A stored `Idempotency-Key` and, once done, the response it produced (kept 24 h).
final class IdempotencyRecord: Model, @unchecked Sendable {
    static let schema = "idempotencia"

    @ID(custom: .id, generatedBy: .database) var id: Int?
    @Field(key: "usuario_id") var usuarioID: Int
    @Field(key: "clave") var clave: String
    @Field(key: "hash") var hash: String
    @Field(key: "estado") var estado: String
    @OptionalField(key: "status") var status: Int?
    @OptionalField(key: "respuesta") var respuesta: String?
    @Field(key: "creado") var creado: Date

    init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    var properties: [any AnyProperty] {
        [$id, $usuarioID, $clave, $hash, $estado, $status, $respuesta, $creado]
    }
}

/// `Idempotency-Key` on POST (SPEC §5): a retry with the same key and body returns the first
/// response and creates nothing; the same key with another body is 422; while the first is in
/// flight, 409.
///
/// A claim lives exactly as long as the request that made it, so a request that fails or is
/// abandoned (database lost, process killed, client gone) never blocks its retry:
/// - within a process, an in-memory claim taken before any waiting and released when the request
///   ends, however it ends;
/// - across processes (PostgreSQL), a transaction-scoped advisory lock on the key, released by
///   commit, rollback or the loss of the connection, whichever comes first.
/// The stored response is written in the same transaction as the work, so a key has a stored
/// answer if and only if the work committed.
enum Idempotency {
    static let lifetime: TimeInterval = 86_400

    static let inProgress = APIError.conflict("Otra petición con esta Idempotency-Key está en curso.",
                                              code: "idempotency_in_progress")
    static let keyReused = APIError(.unprocessableEntity, "Esta Idempotency-Key ya se usó con otro cuerpo.",
                                    code: "idempotency_key_reused")

    private enum Outcome: Sendable {
        case done(Response)
        case replay(status: Int, body: String)
        case refused(APIError)
    }

    /// Runs `work` at most once per (user, key). Without the header it just runs it.
    static func run(_ req: Request, userID: Int,
                    _ work: @escaping @Sendable (any Database) async throws -> Response) async throws -> Response {
        guard let key = req.headers.first(name: "Idempotency-Key") else {
            return try await req.writeTransaction { try await work($0) }
        }
        guard (1...255).contains(key.utf8.count), key.allSatisfy({ $0.isASCII && !$0.isWhitespace || $0 == " " }) else {
            throw APIError.field("Idempotency-Key", "La cabecera debe tener entre 1 y 255 caracteres ASCII.")
        }
        let hash = fingerprint(req.body.data.map { Data($0.readableBytesView) } ?? Data())
        let claims = req.application.idempotencyClaims
        guard claims.claim(userID: userID, key: key) else { throw inProgress }
        defer { claims.release(userID: userID, key: key) }
        let postgres = !req.application.settings.database.isSQLite
        let outcome = try await req.writeTransaction { db -> Outcome in
            guard let sql = db as? any SQLDatabase else { throw APIError.serverError }
            if postgres {
                let claimed = try await sql.raw("""
                    SELECT pg_try_advisory_xact_lock(hashtextextended(\(bind: "idempotencia:\(userID):\(key)"), 0)) AS claimed
                    """).first()?.decode(column: "claimed", as: Bool.self) ?? false
                guard claimed else { throw inProgress }
            }
            if let stored = try await IdempotencyRecord.query(on: db)
                .filter(\.$usuarioID == userID).filter(\.$clave == key).first() {
                // A claim row left by an older version, or an expired key, makes room for this request.
                if stored.estado == "completado", let status = stored.status, stored.creado >= Date().addingTimeInterval(-lifetime) {
                    guard stored.hash == hash else { throw keyReused }
                    return .replay(status: status, body: stored.respuesta ?? "")
                }
                try await stored.delete(on: db)
            }
            try await sql.raw("SAVEPOINT idempotencia").run()
            do {
                let response = try await work(db)
                try await store(response, userID: userID, key: key, hash: hash, on: db)
                return .done(response)
            } catch {
                let apiError = ErrorMiddleware.classify(error, for: req)
                // A refused request is answered the same way on retry, like a successful one;
                // anything else (5xx, database lost) leaves no trace, so the retry runs the work.
                guard (400..<500).contains(apiError.status.code) else { throw error }
                try await sql.raw("ROLLBACK TO SAVEPOINT idempotencia").run()
                try await store(ErrorMiddleware.response(for: apiError, request: req), userID: userID, key: key, hash: hash, on: db)
                return .refused(apiError)
            }
        }
        switch outcome {
        case .done(let response):
            return response
        case .refused(let error):
            throw error
        case .replay(let status, let body):
            let response = Response(status: HTTPResponseStatus(statusCode: status))
            response.headers.contentType = .json
            response.headers.replaceOrAdd(name: "Idempotent-Replayed", value: "true")
            response.body = .init(string: body)
            return response
        }
    }

    private static func store(_ response: Response, userID: Int, key: String, hash: String, on db: any Database) async throws {
        let record = IdempotencyRecord()
        record.usuarioID = userID
        record.clave = key
        record.hash = hash
        record.estado = "completado"
        record.status = Int(response.status.code)
        record.respuesta = response.body.data.map { String(decoding: $0, as: UTF8.self) } ?? ""
        record.creado = Date()
        try await record.create(on: db)
    }

    /// SHA-256 of the body; JSON is hashed in canonical form (sorted keys), so the same data
    /// sent with another key order or spacing counts as the same request.
    static func fingerprint(_ body: Data) -> String {
        var bytes = body
        if let value = try? JSONDecoder().decode(JSONValue.self, from: body) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let canonical = try? encoder.encode(value) { bytes = canonical }
        }
        return SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// The keys of the requests this process is running now (the in-process half of a claim).
final class IdempotencyClaims: Sendable {
    private struct Claim: Hashable {
        let userID: Int
        let key: String
    }

    private let claims = NIOLockedValueBox(Set<Claim>())

    /// False when a request of this process holds the key.
    func claim(userID: Int, key: String) -> Bool {
        claims.withLockedValue { $0.insert(Claim(userID: userID, key: key)).inserted }
    }

    func isClaimed(userID: Int, key: String) -> Bool {
        claims.withLockedValue { $0.contains(Claim(userID: userID, key: key)) }
    }

    func release(userID: Int, key: String) {
        _ = claims.withLockedValue { $0.remove(Claim(userID: userID, key: key)) }
    }
}

extension Application {
    private struct IdempotencyClaimsKey: StorageKey { typealias Value = IdempotencyClaims }

    var idempotencyClaims: IdempotencyClaims {
        if let existing = storage[IdempotencyClaimsKey.self] { return existing }
        let created = IdempotencyClaims()
        storage[IdempotencyClaimsKey.self] = created
        return created
    }
}
