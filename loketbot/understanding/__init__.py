"""Understanding a question, pure: text analysis, the term index, the matcher, evaluation and
grouping of unanswered questions.

May import content (the knowledge it matches against); nothing above.
"""
