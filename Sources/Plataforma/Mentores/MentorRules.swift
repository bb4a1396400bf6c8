import Fluent
import Foundation
import Vapor

/// What a mentor write may contain, validated all at once, and who may see or change what.
enum MentorRules {
    static let duplicateEmail = "Ya existe un mentor con este email."

    /// `+34 600 11 22 33`, `(91) 555-0101`: digits with the usual separators, 6 to 20 digits.
    static func isPlausiblePhone(_ text: String) -> Bool {
        let body = text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        let digits = body.filter(\.isASCII).filter(\.isNumber).count
        return (6...20).contains(digits) && body.first?.isNumber == true
            && body.allSatisfy { ($0.isASCII && $0.isNumber) || " ()./-".contains($0) }
    }

    /// The mentor themself, admins and coordinators see `telefono` and `documento_identidad`.
    static func canSeePrivateFields(of mentor: Mentor, viewer: Usuario) -> Bool {
        canSeePrivateFields(ofMentorOf: mentor.$usuario.id, viewer: viewer)
    }

    /// Staff, or the mentor whose account is `usuarioID`.
    static func canSeePrivateFields(ofMentorOf usuarioID: Int?, viewer: Usuario) -> Bool {
        viewer.rol != .mentor || (viewer.id != nil && usuarioID == viewer.id)
    }

    static func isOwn(_ mentor: Mentor, by user: Usuario) -> Bool {
        user.id != nil && mentor.$usuario.id == user.id
    }

    /// The validated writable fields; `nil` means "not sent".
    struct Fields {
        var nombre: String?
        var apellidos: String?
        var email: String?
        var telefono: String??
        var documento: String??
        var biografia: String?
        var activo: Bool?
        var fechaAlta: LocalDate?
        var usuario: Int??
        var conocimientos: [(Int, Nivel)]?
        var disponibilidad: [DisponibilidadDTO]?
    }

    /// Reads a mentor body. `adminFields` (usuario, activo, fecha_alta, email) are read-only for mentors.
    static func read(_ input: inout JSONInput, existing: Mentor?, adminFields: Bool,
                     on database: any Database) async throws -> Fields {
        var fields = Fields()
        fields.nombre = input.string("nombre", maxLength: 100)
        fields.apellidos = input.string("apellidos", required: false, allowBlank: true, maxLength: 150)
        if input.has("telefono") {
            fields.telefono = .some(phone(&input, "telefono"))
        }
        if input.has("documento_identidad") {
            fields.documento = .some(input.string("documento_identidad", required: false, allowBlank: true, allowNull: true, maxLength: 30))
        }
        fields.biografia = input.string("biografia", required: false, allowBlank: true, maxLength: 5_000, trim: false)
        if adminFields {
            fields.email = input.email("email")
            fields.activo = input.bool("activo", required: false)
            fields.fechaAlta = input.date("fecha_alta", required: false)
            if input.has("usuario") {
                fields.usuario = .some(input.id("usuario", required: false, allowNull: true))
            }
        }
        if let items = input.list("conocimientos", required: false, maxCount: 200) {
            fields.conocimientos = await readSkills(items, into: &input.errors, on: database)
        }
        if let items = input.list("disponibilidad", required: false, maxCount: 100) {
            fields.disponibilidad = readSlots(items, field: "disponibilidad", into: &input.errors)
        }
        if let email = fields.email, try await emailTaken(email, excluding: existing?.id, on: database) {
            input.errors.add("email", duplicateEmail)
        }
        if case .some(.some(let userID)) = fields.usuario {
            if let message = try await usuarioProblem(userID, mentorID: existing?.id, on: database) {
                input.errors.add("usuario", message)
            }
        }
        try input.finish()
        return fields
    }

    private static func phone(_ input: inout JSONInput, _ key: String) -> String? {
        guard let text = input.string(key, required: false, allowBlank: true, allowNull: true, maxLength: 30) else { return nil }
        if text.isEmpty { return nil }
        guard isPlausiblePhone(text) else {
            input.errors.add(key, "Introduzca un número de teléfono válido.")
            return nil
        }
        return text
    }

    static func emailTaken(_ email: String, excluding id: Int?, on database: any Database) async throws -> Bool {
        let query = Mentor.query(on: database).filter(\.$emailClave == EmailAddress.lookupKey(email))
        if let id { query.filter(\.$id != id) }
        return try await query.count() > 0
    }

    private static func usuarioProblem(_ userID: Int, mentorID: Int?, on database: any Database) async throws -> String? {
        guard let user = try await Usuario.find(userID, on: database) else {
            return "Clave primaria \"\(userID)\" inválida - objeto no existe."
        }
        guard user.rol == .mentor else { return "El usuario debe tener el rol mentor." }
        let other = Mentor.query(on: database).filter(\.$usuario.$id == userID)
        if let mentorID { other.filter(\.$id != mentorID) }
        if try await other.count() > 0 { return "Este usuario ya tiene un perfil de mentor." }
        return nil
    }

    /// `[{"conocimiento": id, "nivel"}]`: existing skills, each once.
    private static func readSkills(_ items: [JSONValue], into errors: inout FieldErrors,
                                   on database: any Database) async -> [(Int, Nivel)] {
        var itemErrors: [FieldErrors] = []
        var result: [(Int, Nivel)] = []
        for item in items {
            guard var entry = JSONInput.object(item) else {
                var error = FieldErrors()
                error.addNonField("Datos inválidos. Se esperaba un diccionario pero es un \(item.pythonTypeName).")
                itemErrors.append(error)
                continue
            }
            let id = entry.id("conocimiento")
            let nivel = entry.choice("nivel", Nivel.self)
            if let id, result.contains(where: { $0.0 == id }) {
                entry.errors.add("conocimiento", "Este conocimiento está repetido.")
            } else if let id, let nivel {
                result.append((id, nivel))
            }
            itemErrors.append(entry.errors)
        }
        let ids = result.map(\.0)
        let found = Set((try? await Conocimiento.query(on: database).filter(\.$id ~~ ids).all().compactMap(\.id)) ?? [])
        for (index, item) in items.enumerated() {
            if case .object(let members) = item, case .int(let raw)? = members["conocimiento"],
               let id = Int(exactly: raw), ids.contains(id), !found.contains(id), index < itemErrors.count {
                itemErrors[index].add("conocimiento", "Clave primaria \"\(id)\" inválida - objeto no existe.")
            }
        }
        errors.setItems("conocimientos", itemErrors)
        return result.filter { found.contains($0.0) }
    }

    /// A weekly set of slots: day 0–6, start before end, no overlap on one day.
    static func readSlots(_ items: [JSONValue], field: String?, into errors: inout FieldErrors) -> [DisponibilidadDTO] {
        var itemErrors: [FieldErrors] = []
        var slots: [DisponibilidadDTO] = []
        for item in items {
            guard var entry = JSONInput.object(item) else {
                var error = FieldErrors()
                error.addNonField("Datos inválidos. Se esperaba un diccionario pero es un \(item.pythonTypeName).")
                itemErrors.append(error)
                continue
            }
            let day = entry.int("dia_semana", range: 0...6)
            let start = entry.time("hora_inicio")
            let end = entry.time("hora_fin")
            if let start, let end, end <= start {
                entry.errors.add("hora_fin", "La hora de fin debe ser posterior a la hora de inicio.")
            } else if let day, let start, let end {
                slots.append(DisponibilidadDTO(diaSemana: day, horaInicio: start, horaFin: end))
            }
            itemErrors.append(entry.errors)
        }
        if let field {
            errors.setItems(field, itemErrors)
        } else if itemErrors.contains(where: { !$0.isEmpty }) {
            for (index, error) in itemErrors.enumerated() where !error.isEmpty {
                errors.merge(error.prefixed("\(index)"))
            }
        }
        let days = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]
        for day in 0..<7 {
            let sorted = slots.filter { $0.diaSemana == day }.sorted { $0.horaInicio < $1.horaInicio }
            for (previous, next) in zip(sorted, sorted.dropFirst()) where next.horaInicio < previous.horaFin {
                let message = "Las franjas \(previous.horaInicio)–\(previous.horaFin) y \(next.horaInicio)–\(next.horaFin) del \(days[day]) se solapan."
                if let field { errors.add(field, message) } else { errors.addNonField(message) }
            }
        }
        return slots
    }
}

extension FieldErrors {
    /// The same errors with every field renamed `prefix.field` (errors of one item of a list body).
    func prefixed(_ prefix: String) -> FieldErrors {
        var result = FieldErrors()
        for entry in entries {
            switch entry.value {
            case .messages(let messages): for message in messages { result.add("\(prefix).\(entry.field)", message) }
            case .items(let items): result.setItems("\(prefix).\(entry.field)", items)
            }
        }
        return result
    }
}
