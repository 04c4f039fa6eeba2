"""Human handoff: a citizen asks for a person, staff take the chat over and relay messages.

While a member of staff holds a chat, the channels hand the citizen's messages to the
handoff (stored, shown in the console) instead of Rasa, so the bot stays silent; the bot
answers again once the chat is released.
"""
