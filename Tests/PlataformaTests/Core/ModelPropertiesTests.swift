import Fluent
import Testing
@testable import Plataforma

/// Every model lists its Fluent properties by hand (Fluent would otherwise walk a `Mirror` several
/// times per query, decode and save): the list must be what reflection finds, in the same order.
@Suite("Models list their properties")
struct ModelPropertiesTests {
    static let models: [any Model.Type] = [
        Usuario.self, Blob.self, Archivo.self, UsuarioFoto.self, CertificadoArchivo.self, EntradaAuditoria.self,
        CalendarioAcademico.self, DiaNoLectivo.self, Horario.self, AgendaToken.self, RegistroHoras.self,
        Conocimiento.self, Mentor.self, MentorConocimiento.self, Disponibilidad.self, Certificado.self,
        Proyecto.self, ProyectoMentor.self, Grupo.self, GrupoMentor.self, TokenFamilia.self, TokenEmitido.self,
        TokenRevocado.self, IdempotencyRecord.self,
    ]

    @Test("the same properties, in the same order, as reflection finds", arguments: models.map { ModelCase($0) })
    func matchReflection(_ model: ModelCase) {
        let instance = model.type.init()
        let listed = instance.properties.map { ObjectIdentifier($0 as AnyObject) }
        let reflected = Mirror(reflecting: instance).children.compactMap { $0.value as? any AnyProperty }
            .map { ObjectIdentifier($0 as AnyObject) }
        #expect(!reflected.isEmpty)
        #expect(listed == reflected, "\(model)")
    }

    struct ModelCase: CustomStringConvertible, Sendable {
        let name: String
        nonisolated(unsafe) let type: any Model.Type
        init(_ type: any Model.Type) {
            self.type = type
            name = String(describing: type)
        }
        var description: String { name }
    }
}
