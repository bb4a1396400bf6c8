import Foundation
import Vapor

/// One documented operation; `APIDocs` lists them all and the route/document parity test keeps
/// that list and the router in step.
public struct APIOperation: Sendable {
    public enum Body: Sendable {
        case none
        case json(JSONValue)
        /// `multipart/form-data` (uploads).
        case multipart(JSONValue)
        /// The same fields as JSON or as `multipart/form-data` (with an optional file).
        case jsonOrMultipart(JSONValue)

        var mediaTypes: [(String, JSONValue)] {
            switch self {
            case .none: []
            case .json(let schema): [("application/json", schema)]
            case .multipart(let schema): [("multipart/form-data", schema)]
            case .jsonOrMultipart(let schema): [("application/json", schema), ("multipart/form-data", schema)]
            }
        }
    }

    let method: HTTPMethod
    /// OpenAPI template, e.g. `/api/usuarios/{id}/`.
    let path: String
    let tag: String
    let summary: String
    var query: [(String, JSONValue)] = []
    var body: Body = .none
    /// Success status and schema (`nil` schema: no body).
    var success: (HTTPResponseStatus, JSONValue?)
    var successMediaType = "application/json"
    /// Other success answers (e.g. 200 when an assignment already existed).
    var alsoSuccess: [(HTTPResponseStatus, JSONValue?)] = []
    var authenticated = true
    var errors: [Int] = []
}

/// Builds the OpenAPI 3.1 document from `APIOperation`s.
public enum OpenAPIBuilder {
    static let errorCodes: [Int: String] = [
        400: "Datos inválidos: `{\"campo\": [\"mensaje\"]}` o `{\"detail\", \"code\"}`",
        401: "Sin credenciales o credenciales no válidas",
        403: "Permiso denegado o CSRF fallido",
        404: "No encontrado (también objetos que el usuario no puede ver)",
        405: "Método no permitido", 406: "Accept no satisfacible", 409: "Conflicto",
        413: "Cuerpo demasiado grande o cuota superada (`quota_exceeded`)", 415: "Tipo de medio no soportado",
        416: "Rango no satisfacible (`Content-Range: bytes */tamaño`)", 422: "Idempotency-Key reutilizada",
        429: "Demasiadas peticiones", 503: "Servicio no disponible",
    ]

    public static func document(operations: [APIOperation], components: [String: JSONValue], info: [String: JSONValue]) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for operation in operations {
            var item: [String: JSONValue] = [:]
            if case .object(let existing)? = paths[operation.path] { item = existing }
            item[operation.method.rawValue.lowercased()] = render(operation)
            paths[operation.path] = .object(item)
        }
        var allComponents = components
        allComponents["ValidationError"] = [
            "type": "object", "description": "DRF: every invalid field with its messages; list fields nest per item.",
            "additionalProperties": ["type": "array"],
        ]
        allComponents["Error"] = [
            "type": "object", "required": ["detail", "code"],
            "properties": ["detail": ["type": "string"], "code": ["type": "string"]],
        ]
        let security: JSONValue = [
            "bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"],
            "cookie": ["type": "apiKey", "in": "cookie", "name": "access_token"],
        ]
        let componentsObject: JSONValue = .object(["schemas": .object(allComponents), "securitySchemes": security])
        return .object([
            "openapi": "3.1.0", "info": .object(info), "paths": .object(paths), "components": componentsObject,
        ])
    }

    static func render(_ operation: APIOperation) -> JSONValue {
        var object: [String: JSONValue] = [
            "tags": [.string(operation.tag)],
            "summary": .string(operation.summary),
            "operationId": .string(operationID(operation)),
        ]
        var parameters: [JSONValue] = pathParameters(operation.path).map { name in
            ["name": .string(name), "in": "path", "required": true,
             "schema": name == "codigo" ? ["type": "string"] : ["type": "integer", "minimum": 1, "maximum": 2_147_483_647]]
        }
        for (name, schema) in operation.query {
            parameters.append(["name": .string(name), "in": "query", "required": false, "schema": schema])
        }
        if !parameters.isEmpty { object["parameters"] = .array(parameters) }
        let bodyTypes = operation.body.mediaTypes
        if !bodyTypes.isEmpty {
            let content = JSONValue.object(Dictionary(uniqueKeysWithValues: bodyTypes.map { ($0.0, ["schema": $0.1]) }))
            object["requestBody"] = ["required": true, "content": content]
        }
        var responses: [String: JSONValue] = [:]
        for (status, schema) in [operation.success] + operation.alsoSuccess {
            if let schema {
                responses[String(status.code)] = ["description": .string(status.reasonPhrase),
                                                  "content": [.init(stringLiteral: operation.successMediaType): ["schema": schema]]]
            } else {
                responses[String(status.code)] = ["description": .string(status.reasonPhrase)]
            }
        }
        var codes = Set(operation.errors + [405, 406, 429, 503])
        if operation.authenticated { codes.formUnion([401, 403]) }
        if !pathParameters(operation.path).isEmpty { codes.insert(404) }
        if !bodyTypes.isEmpty { codes.formUnion([400, 413, 415]) }
        if !operation.query.isEmpty { codes.insert(400) }
        if operation.query.contains(where: { $0.0 == "page" }) { codes.insert(404) }
        for code in codes.sorted() {
            let body: JSONValue = code == 400
                ? ["anyOf": [["$ref": "#/components/schemas/Error"], ["$ref": "#/components/schemas/ValidationError"]]]
                : ["$ref": "#/components/schemas/Error"]
            responses[String(code)] = ["description": .string(errorCodes[code] ?? "Error"),
                                       "content": ["application/json": ["schema": body]]]
        }
        object["responses"] = .object(responses)
        object["security"] = operation.authenticated ? [["bearer": []], ["cookie": []]] : []
        return .object(object)
    }

    static func pathParameters(_ path: String) -> [String] {
        path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }
    }

    static func operationID(_ operation: APIOperation) -> String {
        let parts = operation.path.split(separator: "/").filter { $0 != "api" }.map { part -> String in
            part.hasPrefix("{") ? "by_" + part.dropFirst().dropLast() : part.replacingOccurrences(of: "-", with: "_")
        }
        return operation.method.rawValue.lowercased() + "_" + parts.joined(separator: "_")
    }

    /// `/api/usuarios/:id` → `/api/usuarios/{id}/` (the canonical form ends with a slash).
    public static func template(of route: Route) -> String {
        let parts = route.path.map { component -> String in
            switch component {
            case .parameter(let name): "{\(name)}"
            default: component.description
            }
        }
        let joined = "/" + parts.joined(separator: "/")
        return joined.hasPrefix("/api/") ? joined + "/" : joined
    }
}

/// JSON Schema shorthands for the document.
public enum Schema {
    public static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    public static let string: JSONValue = ["type": "string"]
    public static let integer: JSONValue = ["type": "integer"]
    public static let id: JSONValue = ["type": "integer", "minimum": 1]
    public static let number: JSONValue = ["type": "number"]
    public static let boolean: JSONValue = ["type": "boolean"]
    public static let date: JSONValue = ["type": "string", "format": "date"]
    /// A file's bytes (a multipart part, or a download's body).
    public static let binary: JSONValue = ["type": "string", "format": "binary"]
    public static let dateTime: JSONValue = ["type": "string", "format": "date-time"]
    public static let time: JSONValue = ["type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9](:00)?$|^24:00(:00)?$"]
    public static func nullable(_ schema: JSONValue) -> JSONValue { ["oneOf": [schema, ["type": "null"]]] }
    public static func array(_ items: JSONValue) -> JSONValue { ["type": "array", "items": items] }
    public static func choice(_ values: [String]) -> JSONValue { ["type": "string", "enum": .array(values.map { .string($0) })] }
    public static func object(_ properties: [String: JSONValue], required: [String] = []) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { schema["required"] = .array(required.map { .string($0) }) }
        return .object(schema)
    }

    /// DRF's paginated list of `item`.
    public static func page(_ item: String) -> JSONValue {
        object([
            "count": integer, "next": nullable(["type": "string", "format": "uri"]),
            "previous": nullable(["type": "string", "format": "uri"]), "results": array(ref(item)),
        ], required: ["count", "next", "previous", "results"])
    }

    public static let pagination: [(String, JSONValue)] = [
        ("page", ["type": "integer", "minimum": 1]), ("page_size", ["type": "integer", "minimum": 1, "maximum": 100]),
        ("search", string), ("ordering", string),
    ]
}
