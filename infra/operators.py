"""The operators' user pool: who may use the console (docs/deploy.md, "The console").

Separate from the listeners' pool (infra/access.py) and present in every access mode. Operators
are created by an administrator (AdminCreateUser; no self sign-up) and sign in from the console's
page with ``InitiateAuth`` (``USER_PASSWORD_AUTH``, the app client has no secret); API Gateway
checks their ID token with a Cognito user-pools authoriser on every admin route whose
``operator_auth`` is ``"token"``. The functions check the token's issuer again
(``OPERATOR_ISSUER``: a listener's token never passes for an operator's).
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra.access import TOKEN_HEADER
from infra.config import Settings
from infra.nag import acknowledge_all

# How long an operator's tokens live: an hour for the ID (and access) token the console sends, a
# working day for the refresh token that renews it.
ID_TOKEN_HOURS = 1
REFRESH_TOKEN_HOURS = 8
# cdk-nag's finding on the operators' pool, with the reason it is acceptable.
OPERATOR_POOL_FINDINGS = {
    "AwsSolutions-COG2": "MFA is optional (TOTP, no SMS), as AWS advises for a pool with threat "
    "protection: every operator pairs an authenticator app from the console (its 'Authenticator "
    "app' button, docs/console.md) and is then asked for the code at each sign-in; the console "
    "also answers MFA_SETUP, for a pool that requires it. Operators are created by an "
    "administrator only, with 14-character passwords, hour-long ID tokens and the Plus plan's "
    "threat protection logging every sign-in's risk",
}


def cognito_endpoint() -> str:
    """Cognito's regional endpoint, where the console signs in (``InitiateAuth``)."""
    return f"https://cognito-idp.{Aws.REGION}.{Aws.URL_SUFFIX}/"


class OperatorPool(Construct):
    """The operators' user pool, the console's app client, the API's authoriser on the pool, and
    their ids as stack outputs."""

    def __init__(self, scope: Construct, construct_id: str, settings: Settings) -> None:
        super().__init__(scope, construct_id)
        prod = settings.env == "prod"
        self.pool = cognito.UserPool(
            self,
            "Pool",
            user_pool_name=f"{settings.prefix}-operators",
            self_sign_up_enabled=False,  # an administrator creates each operator
            sign_in_aliases=cognito.SignInAliases(username=True),
            sign_in_case_sensitive=False,
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                # the temporary password of AdminCreateUser is changed at the first sign-in
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            # no self-service recovery: an administrator resets a password
            # (admin-set-user-password)
            account_recovery=cognito.AccountRecovery.NONE,
            # threat protection (billed per monthly active operator, a handful): audit mode
            # logs each sign-in's risk; AWS advises two weeks of it before full-function mode
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.AUDIT_ONLY,
            deletion_protection=prod,
            removal_policy=RemovalPolicy.RETAIN if prod else RemovalPolicy.DESTROY,
        )
        acknowledge_all(self.pool, OPERATOR_POOL_FINDINGS)
        self.client = self.pool.add_client(
            "ConsoleClient",
            user_pool_client_name=f"{settings.prefix}-console",
            generate_secret=False,  # a page in a browser cannot keep a secret
            # InitiateAuth from the page with the user name and password (over TLS to Cognito),
            # and refresh tokens (always on)
            auth_flows=cognito.AuthFlow(user_password=True),
            disable_o_auth=True,  # no hosted UI or OAuth flows
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(ID_TOKEN_HOURS),
            access_token_validity=Duration.hours(ID_TOKEN_HOURS),
            refresh_token_validity=Duration.hours(REFRESH_TOKEN_HOURS),
            enable_token_revocation=True,
        )
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self,
            "Authorizer",
            authorizer_name=f"{settings.prefix}-operators",
            cognito_user_pools=[self.pool],
            identity_source=apigw.IdentitySource.header(TOKEN_HEADER),
        )
        # the ``iss`` claim of the pool's tokens, which the functions check again
        self.issuer = f"https://cognito-idp.{Aws.REGION}.{Aws.URL_SUFFIX}/{self.pool.user_pool_id}"
        CfnOutput(scope, "OperatorPoolId", value=self.pool.user_pool_id,
                  description="The operators' Cognito user pool (admin-create-user)")  # fmt: skip
        CfnOutput(scope, "OperatorConsoleClientId", value=self.client.user_pool_client_id,
                  description="The console's client of the operator pool")  # fmt: skip
