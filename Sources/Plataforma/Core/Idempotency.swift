import Crypto
import Fluent
import FluentSQL
import Foundation
import SQLKit
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
}

/// `Idempotency-Key` on POST (SPEC §5): a retry with the same key and body returns the first
/// response and creates nothing; the same key with another body is 422; while the first is in
/// flight, 409. The key row is claimed with a unique insert before the work starts, and the
/// response is stored in the same transaction as the work, so a crash leaves no half state.
enum Idempotency {
    static let lifetime: TimeInterval = 86_400
    /// An in-flight claim older than this is taken as abandoned (its process died).
    static let abandonedAfter: TimeInterval = 300

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
        guard let sql = req.db as? any SQLDatabase else { throw APIError.serverError }
        let now = Date()
        // Expired keys and abandoned claims make room for a fresh claim.
        try await IdempotencyRecord.query(on: req.db).filter(\.$usuarioID == userID).filter(\.$clave == key)
            .group(.or) { group in
                group.filter(\.$creado < now.addingTimeInterval(-lifetime))
                group.group(.and) { $0.filter(\.$estado == "en_curso").filter(\.$creado < now.addingTimeInterval(-abandonedAfter)) }
            }
            .delete()
        let claimed = try await sql.insert(into: IdempotencyRecord.schema)
            .columns("usuario_id", "clave", "hash", "estado", "creado")
            .values(SQLBind(userID), SQLBind(key), SQLBind(hash), SQLBind("en_curso"), SQLBind(now))
            .ignoringConflicts(with: ["usuario_id", "clave"])
            .returning("id").all()
        guard let row = claimed.first, let id = try? row.decode(column: "id", as: Int.self) else {
            return try await replay(req, userID: userID, key: key, hash: hash)
        }
        do {
            return try await req.writeTransaction { db in
                let response = try await work(db)
                let stored = response.body.data.map { String(decoding: $0, as: UTF8.self) } ?? ""
                try await IdempotencyRecord.query(on: db).filter(\.$id == id)
                    .set(\.$estado, to: "completado").set(\.$status, to: Int(response.status.code)).set(\.$respuesta, to: stored)
                    .update()
                return response
            }
        } catch {
            let apiError = ErrorMiddleware.classify(error, for: req)
            if (400..<500).contains(apiError.status.code) {
                // A refused request is answered the same way on retry, like a successful one.
                let response = ErrorMiddleware.response(for: apiError, request: req)
                let stored = response.body.data.map { String(decoding: $0, as: UTF8.self) } ?? ""
                try? await IdempotencyRecord.query(on: req.db).filter(\.$id == id)
                    .set(\.$estado, to: "completado").set(\.$status, to: Int(apiError.status.code)).set(\.$respuesta, to: stored)
                    .update()
            } else {
                try? await IdempotencyRecord.query(on: req.db).filter(\.$id == id).delete()
            }
            throw error
        }
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

    private static func replay(_ req: Request, userID: Int, key: String, hash: String) async throws -> Response {
        guard let record = try await IdempotencyRecord.query(on: req.db)
            .filter(\.$usuarioID == userID).filter(\.$clave == key).first() else {
            throw APIError.conflict("Otra petición con esta Idempotency-Key está en curso.", code: "idempotency_in_progress")
        }
        guard record.hash == hash else {
            throw APIError(.unprocessableEntity, "Esta Idempotency-Key ya se usó con otro cuerpo.", code: "idempotency_key_reused")
        }
        guard record.estado == "completado", let status = record.status else {
            throw APIError.conflict("Otra petición con esta Idempotency-Key está en curso.", code: "idempotency_in_progress")
        }
        let response = Response(status: HTTPResponseStatus(statusCode: status))
        response.headers.contentType = .json
        response.headers.replaceOrAdd(name: "Idempotent-Replayed", value: "true")
        response.body = .init(string: record.respuesta ?? "")
        return response
    }
}
