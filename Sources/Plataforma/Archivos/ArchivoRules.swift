import Fluent
import Vapor

/// The rules of a file's writable fields.
enum ArchivoRules {
    /// `proyecto`: absent (`nil`), cleared (`.some(nil)`) or a project the caller can see; a
    /// mentor may file under the projects they are assigned to.
    static func proyecto(_ input: inout JSONInput, req: Request) async throws -> Int?? {
        guard input.has("proyecto") else { return nil }
        guard let id = input.id("proyecto", required: false, allowNull: true) else {
            return input.errors.has("proyecto") ? nil : .some(nil)
        }
        let user = try req.requireUser()
        let visible: Bool
        if user.rol == .mentor {
            let mentorID = try await user.mentorProfile(on: req.db)?.id ?? 0
            visible = try await ProyectoMentor.query(on: req.db).filter(\.$proyecto.$id == id).filter(\.$mentor.$id == mentorID).count() > 0
        } else {
            visible = try await Proyecto.find(id, on: req.db) != nil
        }
        guard visible else {
            input.errors.add("proyecto", "Clave primaria \"\(id)\" inválida - objeto no existe.")
            return nil
        }
        return .some(id)
    }
}
