import Fluent
import Foundation
import Vapor

/// What an audit entry says happened (SPEC §5 Auditoría).
public enum AccionAuditoria: String, Codable, CaseIterable, Sendable {
    case crear, actualizar, eliminar, aprobar, rechazar, login, logout
    case loginFallido = "login_fallido"
    case revocarToken = "revocar_token"
}

/// One audited event, written in the same transaction as the change it describes.
public final class EntradaAuditoria: Model, @unchecked Sendable {
    public static let schema = "auditoria"

    @ID(custom: .id, generatedBy: .database) public var id: Int?
    @OptionalParent(key: "usuario_id") public var usuario: Usuario?
    @Field(key: "accion") public var accion: AccionAuditoria
    @Field(key: "recurso") public var recurso: String
    @OptionalField(key: "recurso_id") public var recursoID: String?
    /// JSON text: `{"antes": …, "despues": …}` with secrets masked.
    @OptionalField(key: "cambios") public var cambios: String?
    @Field(key: "ip") public var ip: String
    @Field(key: "fecha") public var fecha: Date

    public init() {}

    /// Listed by hand: Fluent would find them by reflection (a `Mirror` walk) several times per
    /// query, decode and save. `ModelPropertiesTests` checks the list against reflection.
    public var properties: [any AnyProperty] {
        [$id, $usuario, $accion, $recurso, $recursoID, $cambios, $ip, $fecha]
    }
}

/// Who acted and from where; taken from the request before the write starts.
public struct AuditActor: Sendable {
    public var usuarioID: Int?
    public var ip: String
}

/// Writes audit entries. Callers pass the database of their write's transaction, so an entry
/// exists exactly when its change does.
public enum Auditor {
    /// Keys whose values never reach the audit log: credentials, tokens and encrypted fields.
    static let masked: Set<String> = [
        "password", "password_actual", "password_nueva", "token", "access", "refresh", "secret",
        "telefono", "documento_identidad", "telefono_cifrado", "documento_cifrado", "token_hash", "hash",
    ]
    static let mask: JSONValue = "[oculto]"

    public static func record(_ accion: AccionAuditoria, _ recurso: String, id: (any CustomStringConvertible)?,
                              by actor: AuditActor, antes: JSONValue? = nil, despues: JSONValue? = nil,
                              on db: any Database) async throws {
        let entry = EntradaAuditoria()
        entry.$usuario.id = actor.usuarioID
        entry.accion = accion
        entry.recurso = recurso
        entry.recursoID = id.map { String(describing: $0) }
        entry.cambios = try cambios(antes: antes, despues: despues).map(encode)
        entry.ip = actor.ip
        entry.fecha = Date()
        try await entry.create(on: db)
    }

    /// Before/after, masked; for updates only the keys whose values changed (compared before
    /// masking, so a changed secret shows as changed without showing its value).
    static func cambios(antes: JSONValue?, despues: JSONValue?) -> JSONValue? {
        switch (antes, despues) {
        case (nil, nil): return nil
        case (let antes?, nil): return ["antes": masking(antes)]
        case (nil, let despues?): return ["despues": masking(despues)]
        case (.object(let before)?, .object(let after)?):
            let changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }
            return ["antes": masking(.object(before.filter { changed.contains($0.key) })),
                    "despues": masking(.object(after.filter { changed.contains($0.key) }))]
        case (let antes?, let despues?): return ["antes": masking(antes), "despues": masking(despues)]
        }
    }

    static func masking(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let fields):
            return .object(Dictionary(uniqueKeysWithValues: fields.map { key, value in
                (key, masked.contains(key) ? (value == .null ? .null : mask) : masking(value))
            }))
        case .array(let items): return .array(items.map(masking))
        default: return value
        }
    }

    static func encode(_ value: JSONValue) throws -> String {
        String(decoding: try APIJSONWriter.encode(value), as: UTF8.self)
    }

    /// The API's own JSON shape (snake_case keys, ISO dates), for snapshots of DTOs.
    static func snapshot(_ value: any Encodable) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(try APIJSONWriter.encode(value)))
    }
}

extension Request {
    /// The caller and their address, for audit entries.
    public var auditActor: AuditActor {
        AuditActor(usuarioID: authenticatedUser?.id ?? loggedUserID, ip: clientIP)
    }

    /// Deletes `model` and records it (with `antes`, as the API showed it) in one transaction.
    public func deleteAudited<M: Model>(_ model: M, _ recurso: String, antes: any Encodable) async throws where M.IDValue == Int {
        let snapshot = try Auditor.snapshot(antes)
        try await writeTransaction { db in
            try await model.delete(on: db)
            try await self.audit(.eliminar, recurso, id: model.id, antes: snapshot, on: db)
        }
    }

    /// Records what this request did, on `db` (the write's transaction). `antes`/`despues` are
    /// DTOs (or any Encodable) as the API shows them.
    public func audit(_ accion: AccionAuditoria, _ recurso: String, id: (any CustomStringConvertible)?,
                      antes: (any Encodable)? = nil, despues: (any Encodable)? = nil, on db: any Database) async throws {
        try await Auditor.record(accion, recurso, id: id, by: auditActor,
                                 antes: try antes.map(Auditor.snapshot), despues: try despues.map(Auditor.snapshot), on: db)
    }
}
