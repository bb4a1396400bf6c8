import Foundation
import JWT

/// SimpleJWT's claims: `token_type`, `exp`, `iat`, `jti`, `user_id` (a string), `rol`, plus
/// `ver`, the account's credential version (a password change makes older tokens invalid).
struct TokenClaims: JWTPayload, Equatable {
    enum TokenType: String, Codable { case access, refresh }

    var tokenType: TokenType
    var exp: Int
    var iat: Int
    var jti: String
    var userID: String
    var rol: String
    var ver: Int?

    enum CodingKeys: String, CodingKey {
        case tokenType = "token_type", exp, iat, jti, userID = "user_id", rol, ver
    }

    init(tokenType: TokenType, exp: Int, iat: Int, jti: String, userID: String, rol: String, ver: Int?) {
        self.tokenType = tokenType
        self.exp = exp
        self.iat = iat
        self.jti = jti
        self.userID = userID
        self.rol = rol
        self.ver = ver
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tokenType = try container.decode(TokenType.self, forKey: .tokenType)
        exp = try container.decode(Int.self, forKey: .exp)
        iat = try container.decodeIfPresent(Int.self, forKey: .iat) ?? 0
        jti = try container.decode(String.self, forKey: .jti)
        // SimpleJWT before 5.4 wrote user_id as a number.
        if let text = try? container.decode(String.self, forKey: .userID) {
            userID = text
        } else {
            userID = String(try container.decode(Int.self, forKey: .userID))
        }
        rol = try container.decodeIfPresent(String.self, forKey: .rol) ?? ""
        ver = try container.decodeIfPresent(Int.self, forKey: .ver)
    }

    var userIDValue: Int? { Int(userID) }

    func verify(using algorithm: some JWTAlgorithm) async throws {
        if exp <= Int(Date().timeIntervalSince1970) {
            throw JWTError.claimVerificationFailure(failedClaim: nil, reason: "expired")
        }
    }

    /// A fresh SimpleJWT-style id: 32 hex characters.
    static func newJTI() -> String {
        UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }
}
